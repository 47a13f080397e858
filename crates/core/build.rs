//! Embeds the built-in catalog: one `catalog/providers/{key}.json` per provider and its
//! logo `catalog/logos/{key}.svg` (written by `catalog/logos.mjs`), sorted by key.

use std::fmt::Write;
use std::path::Path;

fn files(dir: &Path, extension: &str) -> Vec<(String, String)> {
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut found: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("catalog entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .map(|path| {
            let key = path.file_stem().unwrap().to_string_lossy().into_owned();
            (key, path.canonicalize().unwrap().display().to_string())
        })
        .collect();
    found.sort();
    found
}

fn table(out: &mut String, name: &str, entries: &[(String, String)]) {
    writeln!(out, "pub(crate) static {name}: &[(&str, &str)] = &[").unwrap();
    for (key, path) in entries {
        writeln!(out, "    ({key:?}, include_str!({path:?})),").unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn main() {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut out = String::new();
    table(
        &mut out,
        "PROVIDERS",
        &files(&catalog.join("providers"), "json"),
    );
    table(&mut out, "LOGOS", &files(&catalog.join("logos"), "svg"));
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin.rs");
    std::fs::write(target, out).unwrap();
}
