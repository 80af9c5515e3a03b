//! Preview benchmark: a 10,000-change plan made by real terraform 1.0.3 with the test
//! provider. Prints the time fathom takes to summarise it (parse, risk rules, compact answer)
//! and the answer's size, beside `terraform show -json` on the same binary plan and a `jq`
//! count over the same JSON, so fathom's share of the wall time is visible.
//!
//!     scripts/setup-test-deps && cargo build --release && cargo run --release --example bench_preview [-- CHANGES RUNS]

#[path = "bench_common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{StdioPeer, dep, f1, fail, fathom_bin, ms, print_table, repo, summarize};
use serde_json::json;

fn terraform(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(dep("terraform/terraform"))
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dep("terraform/terraformrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap_or_else(|e| fail(format!("cannot run terraform: {e}")));
    if !out.status.success() {
        fail(format!(
            "terraform {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    dep("provider/terraform-provider-fathomtest");
    let dir = repo().join("target/bench-preview").join(n.to_string());
    let infra = dir.join("infra");
    let plan_bin = infra.join("bench.tfplan");
    let plan_json = dir.join("plan.json");
    if !plan_json.is_file() {
        std::fs::create_dir_all(&infra).unwrap_or_else(|e| fail(e));
        std::fs::write(
            infra.join("main.tf"),
            format!(
                "terraform {{\n  required_providers {{\n    fathomtest = {{ source = \"example.com/test/fathomtest\" }}\n  }}\n}}\n\
                 resource \"fathomtest_bucket\" \"b\" {{\n  count = {}\n  name  = \"bench-bucket-${{count.index}}\"\n}}\n\
                 resource \"fathomtest_database\" \"db\" {{\n  count      = {}\n  name       = \"bench-db-${{count.index}}\"\n  engine     = \"postgres\"\n  storage_gb = 10\n}}\n",
                n - n / 10,
                n / 10
            ),
        )
        .unwrap_or_else(|e| fail(e));
        let t = Instant::now();
        terraform(
            &infra,
            &[
                "plan",
                "-input=false",
                "-no-color",
                "-refresh=false",
                "-out=bench.tfplan",
            ],
        );
        let out = terraform(&infra, &["show", "-json", "-no-color", "bench.tfplan"]);
        std::fs::write(&plan_json, &out.stdout).unwrap_or_else(|e| fail(e));
        std::fs::write(dir.join("fathom.toml"), "[audit]\npath = \"stderr\"\n")
            .unwrap_or_else(|e| fail(e));
        eprintln!(
            "generated a {n}-change plan with terraform in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let json_mb = std::fs::metadata(&plan_json).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;

    // fathom: the preview tool over MCP (stdio), loading the saved JSON plan.
    let mut peer = StdioPeer::spawn(
        Command::new(fathom_bin())
            .args(["serve", "--workspace"])
            .arg(&dir),
    )
    .unwrap_or_else(|e| fail(e));
    peer.initialize(Duration::from_secs(30))
        .unwrap_or_else(|e| fail(e));
    let mut times = Vec::new();
    let mut answer_bytes = 0;
    let mut counts = serde_json::Value::Null;
    for i in 0..runs {
        let id = 10 + i as u64;
        let t = Instant::now();
        peer.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "preview", "arguments": {"plan_file": "plan.json"}}}))
            .unwrap_or_else(|e| fail(e));
        let (line, v) = peer
            .response(id, Duration::from_secs(120))
            .unwrap_or_else(|e| fail(e));
        times.push(ms(t.elapsed()));
        answer_bytes = v["result"]["content"][0]["text"]
            .as_str()
            .map_or(0, str::len);
        counts = v["result"]["structuredContent"]["counts"].clone();
        if i == 0 {
            eprintln!(
                "answer: {} bytes of text, {} bytes on the wire",
                answer_bytes,
                line.len()
            );
        }
    }
    let fathom = summarize(&times);
    let _ = peer.close_and_wait(Duration::from_secs(10));

    // terraform show -json on the same binary plan.
    let mut show = Vec::new();
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        terraform(&infra, &["show", "-json", "-no-color", "bench.tfplan"]);
        show.push(ms(t.elapsed()));
    }
    let show = summarize(&show);

    // jq counting creates over the same JSON.
    let mut jq = Vec::new();
    let mut jq_count = String::new();
    for _ in 0..runs.min(5) {
        let t = Instant::now();
        let out = Command::new("jq")
            .args(["[.resource_changes[] | select(.change.actions == [\"create\"])] | length"])
            .arg(&plan_json)
            .output()
            .unwrap_or_else(|e| fail(format!("jq is missing ({e})")));
        jq.push(ms(t.elapsed()));
        jq_count = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    let jq = summarize(&jq);
    let _ = plan_bin;

    println!(
        "\nbench_preview: {n}-change plan ({json_mb:.1} MB of plan JSON), {runs} runs\n{}",
        common::machine_facts()
    );
    print_table(
        &["step", "median ms", "min ms", "max ms", "notes"],
        &[
            vec![
                "fathom preview (plan_file JSON, over MCP)".into(),
                f1(fathom.median),
                f1(fathom.min),
                f1(fathom.max),
                format!("answer {answer_bytes} bytes; counts {counts}"),
            ],
            vec![
                "terraform show -json (binary plan)".into(),
                f1(show.median),
                f1(show.min),
                f1(show.max),
                "the step a live preview runs before fathom's part".into(),
            ],
            vec![
                "jq count of creates".into(),
                f1(jq.median),
                f1(jq.min),
                f1(jq.max),
                format!("{jq_count} creates"),
            ],
        ],
    );
    println!(
        "\ntargets: summarise <= 300 ms, answer < 16 KB\ncommand: {}",
        common::command_line("bench_preview")
    );
}
