//! The report: each target met or not, and the markdown `bench/run` prints.

use serde_json::Value;

pub fn targets(report: &Value) -> Vec<(String, bool)> {
    let mut t = Vec::new();
    if let Some(functions) = report["cold_start"]["functions"].as_object() {
        for (name, f) in functions {
            t.push((
                format!("{name}: init ≤ 1.3× hello"),
                f["init_ratio"].as_f64().unwrap() <= 1.3,
            ));
            t.push((
                format!("{name}: first response ≤ 1.6× hello"),
                f["first_response_ratio"].as_f64().unwrap() <= 1.6,
            ));
        }
    }
    if let Some(sizes) = report["sizes"].as_object() {
        for (name, s) in sizes.iter().filter(|(n, _)| *n != "hello") {
            t.push((
                format!("{name}: zipped ≤ 4 MB"),
                s["zip_bytes"].as_u64().unwrap() <= 4_000_000,
            ));
        }
    }
    let r = &report["refresh"];
    if !r.is_null() {
        t.push((
            "refresh ≥ 50× one at a time".into(),
            r["ratio"].as_f64().unwrap() >= 50.0,
        ));
        t.push((
            "items read ≤ 1.1× due".into(),
            r["items_read_per_due_max"].as_f64().unwrap() <= 1.1,
        ));
    }
    if let Some(load) = report["load"].as_object() {
        t.push((
            "zero errors under load".into(),
            load.values().all(|l| l["errors"] == 0),
        ));
    }
    t
}

pub fn markdown(report: &Value, targets: &[(String, bool)]) -> String {
    let mut md = String::from(
        "# Latchkey benchmarks\n\nMedians of repeated runs; ratios are to a baseline measured in the same run.\n",
    );
    let c = &report["cold_start"];
    if !c.is_null() {
        md += "\n## Cold start (vs hello-world `lambda_runtime`)\n\nA warm response is the same event answered again by the same process: on moto it is mostly the store's round trips, which a first response pays too. The last column is (first − warm) against hello's.\n\n| function | init ms | ×hello | first response ms | ×hello | warm response ms | first − warm ×hello |\n| --- | --- | --- | --- | --- | --- | --- |\n";
        let h = &c["hello"];
        md += &format!(
            "| hello | {:.1} | 1.00 | {:.1} | 1.00 | {:.2} | 1.00 |\n",
            h["init_ms"].as_f64().unwrap(),
            h["first_response_ms"].as_f64().unwrap(),
            h["warm_response_ms"].as_f64().unwrap()
        );
        for (name, f) in c["functions"].as_object().into_iter().flatten() {
            md += &format!(
                "| {name} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {:.2} |\n",
                f["init_ms"].as_f64().unwrap(),
                f["init_ratio"].as_f64().unwrap(),
                f["first_response_ms"].as_f64().unwrap(),
                f["first_response_ratio"].as_f64().unwrap(),
                f["warm_response_ms"].as_f64().unwrap(),
                f["cold_overhead_ratio"].as_f64().unwrap()
            );
        }
    }
    if let Some(sizes) = report["sizes"].as_object() {
        md += "\n## Artefact size\n\n| function | binary | zipped |\n| --- | --- | --- |\n";
        for (name, s) in sizes {
            md += &format!(
                "| {name} | {:.2} MB | {:.2} MB |\n",
                s["binary_bytes"].as_f64().unwrap() / 1e6,
                s["zip_bytes"].as_f64().unwrap() / 1e6
            );
        }
    }
    let c = &report["cost"];
    if !c.is_null() {
        md += &format!(
            "\n## Cost per request (valgrind callgrind, local gateway, stores on moto)\n\nInstructions per warm request: ({} + {} requests) − ({} requests), over {}; medians.\n\n| scenario | instructions | ×unknown route |\n| --- | --- | --- |\n",
            c["warm"], c["requests"], c["warm"], c["requests"]
        );
        for (name, s) in c["scenarios"].as_object().into_iter().flatten() {
            md += &format!(
                "| {name} | {:.0} | {:.2} |\n",
                s["instructions"].as_f64().unwrap(),
                s["ratio_to_baseline"].as_f64().unwrap()
            );
        }
    }
    if let Some(load) = report["load"].as_object() {
        md += "\n## Gateway load (fixed rate, open loop)\n\n| scenario | rate/s | throughput/s | p50 ms | p99 ms | errors | p50 ×baseline |\n| --- | --- | --- | --- | --- | --- | --- |\n";
        for (name, l) in load {
            md += &format!(
                "| {name} | {} | {:.1} | {:.2} | {:.2} | {} | {:.2} |\n",
                l["rate"],
                l["throughput_per_s"].as_f64().unwrap(),
                l["p50_ms"].as_f64().unwrap(),
                l["p99_ms"].as_f64().unwrap(),
                l["errors"],
                l["p50_ratio_to_baseline"].as_f64().unwrap()
            );
        }
    }
    let r = &report["refresh"];
    if !r.is_null() {
        md += &format!(
            "\n## Refresh throughput\n\n{} due (+{} not due), token endpoint latency {} ms, concurrency {}: {:.1}/s scheduled vs {:.2}/s one at a time = **{:.1}×**; items read per due item: {:.3}.\n",
            r["due"],
            r["not_due"],
            r["token_latency_ms"],
            r["concurrency"],
            r["scheduled_per_s"].as_f64().unwrap(),
            r["one_at_a_time_per_s"].as_f64().unwrap(),
            r["ratio"].as_f64().unwrap(),
            r["items_read_per_due_max"].as_f64().unwrap()
        );
    }
    md += "\n## Targets\n\n";
    for (what, met) in targets {
        md += &format!("- {} — {what}\n", if *met { "met" } else { "**not met**" });
    }
    md
}
