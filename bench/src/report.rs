//! The report: each target met or not, and the markdown `bench/run` prints.

use serde_json::Value;

/// A figure of the report, `NaN` when absent.
fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

pub fn targets(report: &Value) -> Vec<(String, bool)> {
    let mut t = Vec::new();
    if let Some(functions) = report["cold_start"]["functions"].as_object() {
        for (name, f) in functions {
            t.push((
                format!("{name}: init ≤ 1.3× hello"),
                num(f, "init_ratio") <= 1.3,
            ));
            t.push((
                format!("{name}: first response − warm response ≤ 1.6× hello's first response"),
                num(f, "cold_overhead_ratio") <= 1.6,
            ));
        }
    }
    if let Some(scenarios) = report["round_trips"].as_object() {
        for (name, s) in scenarios {
            t.push((
                format!("{name}: DynamoDB calls at their floor"),
                s["at_floor"] == true,
            ));
        }
    }
    let cost = &report["cost"]["scenarios"];
    for (name, most) in [("catalog_list", 1.5e6), ("oauth_callback", 3e6)] {
        if !cost[name].is_null() {
            t.push((
                format!("{name}: ≤ {:.1} M instructions a warm request", most / 1e6),
                num(&cost[name], "instructions") <= most,
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
    let two = &report["scale"]["two_workers"];
    if !two.is_null() {
        t.push((
            "at scale, two workers: exactly one token request per due connection".into(),
            two["duplicate_token_requests"] == 0 && two["connections_refreshed"] == two["due"],
        ));
    }
    let one = &report["scale"]["one_worker_all_due"];
    if !one.is_null() {
        t.push((
            "at scale, one worker drains every connection due within the 10-minute window".into(),
            num(one, "wall_s") <= 600.0,
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
        md += &format!(
            "\n## Cold start (vs hello-world `lambda_runtime`)\n\nMedians of {} interleaved runs, with their spread (min–max). A warm response is the same event answered again by the same process: on moto it is mostly the store's round trips, which a first response pays too. (first − warm) against hello's first response is what the cold path of the code adds. Peak RSS: the process's `VmHWM` after both responses (the largest of the runs).\n\n| function | init ms (spread) | ×hello | first response ms (spread) | warm response ms | (first − warm) ×hello first | peak RSS MiB |\n| --- | --- | --- | --- | --- | --- | --- |\n",
            c["runs"]
        );
        let h = &c["hello"];
        md += &format!(
            "| hello | {:.1} ({:.1}–{:.1}) | 1.00 | {:.1} | {:.2} | | |\n",
            num(h, "init_ms"),
            num(h, "init_min_ms"),
            num(h, "init_max_ms"),
            num(h, "first_response_ms"),
            num(h, "warm_response_ms")
        );
        for (name, f) in c["functions"].as_object().into_iter().flatten() {
            md += &format!(
                "| {name} | {:.1} ({:.1}–{:.1}) | {:.2} | {:.1} ({:.1}–{:.1}) | {:.2} | {:.2} | {:.1} |\n",
                num(f, "init_ms"),
                num(f, "init_min_ms"),
                num(f, "init_max_ms"),
                num(f, "init_ratio"),
                num(f, "first_response_ms"),
                num(f, "first_min_ms"),
                num(f, "first_max_ms"),
                num(f, "warm_response_ms"),
                num(f, "cold_overhead_ratio"),
                num(f, "peak_rss_mib")
            );
        }
    }
    if let Some(scenarios) = report["round_trips"].as_object() {
        md += "\n## Round trips per request (DynamoDB and Secrets Manager calls)\n\nEach scenario is one warm request on the local gateway; a proxy in front of moto counts every call (retries included). Rounds: calls made at once count once (what the request waits for). Reads are GetItem and Query calls. Vault in `sealed` mode (the template's default) unless named.\n\n| scenario | reads | writes | transactions | rounds | secret calls | secret calls (secretsmanager mode) | floor (r/w/t) | at floor |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for (name, s) in scenarios {
            let (v, f) = (&s["sealed"], &s["floor"]);
            md += &format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {}/{}/{} | {} |\n",
                v["reads"],
                v["writes"],
                v["transactions"],
                v["rounds"],
                v["secret_calls"],
                s["secretsmanager"]["secret_calls"],
                f["reads"],
                f["writes"],
                f["transactions"],
                if s["at_floor"] == true {
                    "yes"
                } else {
                    "**no**"
                }
            );
        }
        md += "\nWhy each floor is what it is:\n\n";
        for (name, s) in scenarios {
            md += &format!(
                "- {name}: {}\n",
                s["floor"]["why"].as_str().unwrap_or_default()
            );
        }
    }
    let m = &report["memory"];
    if !m.is_null() {
        md += "\n## Memory and price\n\nPeak RSS over the heaviest scenarios:\n\n| function | scenario | measured in | peak RSS MiB |\n| --- | --- | --- | --- |\n";
        for (name, h) in m["heaviest"].as_object().into_iter().flatten() {
            md += &format!(
                "| {name} | {} | {} | {:.1} |\n",
                h["scenario"].as_str().unwrap_or_default(),
                h["process"].as_str().unwrap_or_default(),
                num(h, "peak_rss_mib")
            );
        }
        if let Some(e) = m["error"].as_str() {
            md += &format!("\nSizes not measured: {e}\n");
        }
        md += &format!(
            "\nInit / first response / warm response in ms at each size, under its CPU share (medians of {} runs; catalog answers a page of 100), the size the template deploys it with, and Lambda's price per million warm requests there (x86_64 list price: $0.20 a million requests plus $0.0000166667 a GB-second of billed duration; API Gateway adds $1.00 a million). An always-on 0.25 vCPU / 0.5 GB Fargate task costs ${:.2} a month.\n\n| function | 128 MB | 256 MB | 512 MB | 1024 MB | deployed | $ per million | container cheaper above (million a month) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
            m["runs"],
            num(m, "container_per_month_usd")
        );
        for (name, f) in m["functions"].as_object().into_iter().flatten() {
            let at = |mb: &str| {
                let s = &f["sizes"][mb];
                format!(
                    "{:.0} / {:.0} / {:.1}",
                    num(s, "init_ms"),
                    num(s, "first_ms"),
                    num(s, "warm_ms")
                )
            };
            md += &format!(
                "| {name} | {} | {} | {} | {} | {} MB | {:.2} | {:.0} |\n",
                at("128"),
                at("256"),
                at("512"),
                at("1024"),
                f["deployed_mb"],
                num(f, "per_million_usd"),
                num(f, "break_even_million_per_month")
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
                num(s, "instructions"),
                num(s, "ratio_to_baseline")
            );
        }
        md += "\nWhere they go: the five functions with the most instructions of their own, per warm request (the gateway built with `--profile profiling`: release, symbols kept).\n";
        for (name, s) in c["scenarios"].as_object().into_iter().flatten() {
            md += &format!("\n{name}:\n\n| function | instructions |\n| --- | --- |\n");
            for f in s["top_functions"].as_array().into_iter().flatten() {
                let function = f["function"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('|', "\\|");
                md += &format!("| `{function}` | {:.0} |\n", num(f, "instructions"));
            }
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
    let scale = &report["scale"];
    if !scale.is_null() {
        md += "\n## Refresh at scale\n\nToken endpoint latency 150 ms, 64 refreshes in flight per worker; two workers are two processes. Token requests are counted by the provider per refresh token (one per connection). moto (`bench/moto_server.py`: stock moto without its per-query sort of the table) answers far slower than DynamoDB, about 125 requests a second in one Python process: on it the wall time is an upper bound, the token-bound time what the design allows. The all-due drain runs on SQLite for that reason.\n\n| case | store | connections | due | workers | credentials calls (ok) | wall s | token-bound s | refreshed | token requests per due | duplicates | items read per due | lease conflicts | already fresh |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
        for (case, r) in [
            ("two workers", &scale["two_workers"]),
            ("one worker, all due", &scale["one_worker_all_due"]),
        ] {
            if r.is_null() {
                continue;
            }
            md += &format!(
                "| {case} | {} | {} | {} | {} | {} ({}) | {:.1} | {:.1} | {} | {:.3} | {} | {:.3} | {} | {} |\n",
                r["store"].as_str().unwrap_or("DynamoDB (moto)"),
                r["connections"],
                r["due"],
                r["workers"],
                r["credentials_calls"],
                r["credentials_ok"],
                num(r, "wall_s"),
                num(r, "token_bound_s"),
                r["connections_refreshed"],
                num(r, "token_requests_per_due"),
                r["duplicate_token_requests"],
                num(r, "items_read_per_due"),
                r["lease_conflicts"],
                r["already_fresh"]
            );
        }
    }
    md += "\n## Targets\n\n";
    for (what, met) in targets {
        md += &format!("- {} — {what}\n", if *met { "met" } else { "**not met**" });
    }
    md
}
