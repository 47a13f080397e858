//! The layering of docs/ARCHITECTURE.md §2, read from the real dependency graph: the domain
//! links no AWS, HTTP, Lambda or page crate, the catalog function links no page renderer
//! and no OAuth client, and the refresh function runs on `lambda_runtime` itself.

use std::collections::BTreeSet;
use std::process::Command;

/// Every crate `package` links in normal (non-dev, non-build) builds.
fn linked(package: &str) -> BTreeSet<String> {
    tree(package, &[])
}

/// The crates `package` depends on itself.
fn direct(package: &str) -> BTreeSet<String> {
    tree(package, &["--depth", "1"])
}

fn tree(package: &str, extra: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "--offline", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}", "-p", package])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn forbidden<'a>(crates: &'a BTreeSet<String>, prefixes: &[&str]) -> Vec<&'a String> {
    crates
        .iter()
        .filter(|c| prefixes.iter().any(|p| c.starts_with(p)))
        .collect()
}

#[test]
fn the_domain_links_no_aws_http_lambda_or_page_crate() {
    let crates = linked("latchkey-domain");
    assert!(crates.contains("serde"), "{crates:?}");
    let found = forbidden(
        &crates,
        &[
            "aws-",
            "reqwest",
            "hyper",
            "lambda_http",
            "lambda_runtime",
            "maud",
            "rusqlite",
        ],
    );
    assert!(found.is_empty(), "latchkey-domain links {found:?}");
}

#[test]
fn the_catalog_function_links_no_pages_and_no_oauth_client() {
    let crates = linked("latchkey-catalog");
    assert!(crates.contains("latchkey-core"), "{crates:?}");
    let found = forbidden(
        &crates,
        &[
            "maud",
            "latchkey-pages",
            "latchkey-providers",
            "latchkey-connect",
            "jsonwebtoken",
        ],
    );
    assert!(found.is_empty(), "latchkey-catalog links {found:?}");
}

#[test]
fn a_forbidden_crate_is_found_when_it_is_there() {
    // The check itself: the popup does render pages and run OAuth.
    let crates = linked("latchkey-popup");
    assert!(!forbidden(&crates, &["maud", "latchkey-providers"]).is_empty());
}

#[test]
fn the_refresh_function_runs_on_lambda_runtime_itself() {
    // A direct dependency, not only lambda_http's re-export: refresh is no HTTP function.
    let crates = direct("latchkey-refresh");
    assert!(crates.contains("lambda_runtime"), "{crates:?}");
    assert!(!crates.contains("lambda_http"), "{crates:?}");
}
