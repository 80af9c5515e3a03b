//! State benchmark: generated 50,000-resource Terraform state and Pulumi checkpoint (each well
//! over 100 MB). Prints parse throughput, a filtered `stack_resources` call through the real
//! binary (cold, then warm from the cache), fathom's peak memory against the file size, and
//! `jq` doing the same filter on the same file in the same run.
//!
//!     cargo build --release && cargo run --release --example bench_state [-- RESOURCES RUNS]

#[path = "bench_common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{StdioPeer, f1, f2, fail, fathom_bin, ms, print_table, repo, summarize};
use serde_json::{Value, json};

/// Deterministic pseudo-random numbers (64-bit LCG), so every run writes the same files.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const TF_TYPES: &[&str] = &[
    "aws_instance",
    "aws_s3_bucket",
    "aws_db_instance",
    "aws_security_group",
    "aws_iam_role",
    "aws_lambda_function",
];
const PULUMI_TYPES: &[&str] = &[
    "aws:ec2/instance:Instance",
    "aws:s3/bucket:Bucket",
    "aws:rds/instance:Instance",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:iam/role:Role",
    "aws:lambda/function:Function",
];

fn attributes(rng: &mut Lcg, i: usize, kind: &str) -> Value {
    let rules: Vec<Value> = (0..1 + rng.below(10))
        .map(|p| {
            json!({"from_port": 1000 + p, "to_port": 2000 + p, "protocol": "tcp",
                        "cidr_blocks": ["10.0.0.0/16", "10.1.0.0/16", "192.168.0.0/24"],
                        "description": format!("rule {p} of resource {i}")})
        })
        .collect();
    json!({
        "id": format!("{kind}-{i:06}"),
        "arn": format!("arn:aws:svc:eu-west-1:111122223333:{kind}/{i:06}"),
        "name": format!("res-{i:06}"),
        "tags": {"env": "prod", "team": format!("team-{}", i % 40), "cost_center": format!("cc-{}", i % 97)},
        "description": "d".repeat(300 + rng.below(900) as usize),
        "ingress": rules,
        "password": format!("generated-password-{i}"),
    })
}

fn write_terraform(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("terraform.tfstate");
    if path.is_file() {
        return path;
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(e));
    std::fs::write(dir.join("main.tf"), "# generated for bench_state\n")
        .unwrap_or_else(|e| fail(e));
    let mut rng = Lcg(7);
    let resources: Vec<Value> = (0..n)
        .map(|i| {
            let t = TF_TYPES[i % TF_TYPES.len()];
            json!({"mode": "managed", "type": t, "name": format!("r{i}"),
                   "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                   "instances": [{"schema_version": 1, "attributes": attributes(&mut rng, i, t),
                                  "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]],
                                  "private": "eyJzY2hlbWFfdmVyc2lvbiI6IjEifQ==",
                                  "dependencies": [format!("aws_security_group.r{}", i.saturating_sub(1))]}]})
        })
        .collect();
    let doc = json!({"version": 4, "terraform_version": "1.9.8", "serial": 1,
                     "lineage": "bench", "outputs": {}, "resources": resources});
    std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| fail(e));
    path
}

fn write_pulumi(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join(".pulumi/stacks/bench/dev.json");
    if path.is_file() {
        return path;
    }
    std::fs::create_dir_all(path.parent().unwrap_or(dir)).unwrap_or_else(|e| fail(e));
    std::fs::write(dir.join("Pulumi.yaml"), "name: bench\nruntime: nodejs\n")
        .unwrap_or_else(|e| fail(e));
    let mut rng = Lcg(11);
    let stack = "urn:pulumi:dev::bench::pulumi:pulumi:Stack::bench-dev";
    let mut resources =
        vec![json!({"urn": stack, "custom": false, "type": "pulumi:pulumi:Stack", "outputs": {}})];
    for i in 0..n {
        let t = PULUMI_TYPES[i % PULUMI_TYPES.len()];
        resources.push(
            json!({"urn": format!("urn:pulumi:dev::bench::{t}::r{i}"), "custom": true,
            "id": format!("id-{i:06}"), "type": t, "parent": stack,
            "inputs": {"name": format!("res-{i:06}")},
            "outputs": attributes(&mut rng, i, t),
            "dependencies": [format!("urn:pulumi:dev::bench::{t}::r{}", i.saturating_sub(1))]}),
        );
    }
    let doc = json!({"version": 3, "checkpoint": {"stack": "dev", "latest": {
        "manifest": {"time": "2026-11-25T00:00:00Z", "magic": "m", "version": "v3.140.0"},
        "secrets_providers": {"type": "passphrase", "state": {}}, "resources": resources}}});
    std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| fail(e));
    path
}

struct Row {
    engine: &'static str,
    file_mb: f64,
    parse_mb_s: f64,
    cold_ms: f64,
    warm_p50_ms: f64,
    warm_p99_ms: f64,
    peak_mb: f64,
    matched: u64,
    jq_ms: f64,
    jq_peak_mb: f64,
    jq_matched: u64,
}

fn measure(
    engine: &'static str,
    workspace: &Path,
    file: &Path,
    stack: &str,
    rtype: &str,
    jq_filter: &str,
    runs: usize,
) -> Row {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) as f64;
    // Warm the page cache so every contender reads from memory.
    let _ = std::fs::read(file);
    let mut parse = Vec::new();
    for _ in 0..runs.min(5) {
        let t = Instant::now();
        let snap =
            fathom::iac::read::read_file(file, "bench", u64::MAX).unwrap_or_else(|e| fail(e));
        parse.push(t.elapsed().as_secs_f64());
        drop(snap);
    }
    let parse = summarize(&parse);

    let mut peer = StdioPeer::spawn(
        Command::new(fathom_bin())
            .args(["serve", "--workspace"])
            .arg(workspace),
    )
    .unwrap_or_else(|e| fail(e));
    peer.initialize(Duration::from_secs(30))
        .unwrap_or_else(|e| fail(e));
    let mut call = |id: u64| -> (f64, Value) {
        let t = Instant::now();
        peer.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "stack_resources", "arguments": {"stack": stack, "type": rtype, "limit": 20}}}),
        )
        .unwrap_or_else(|e| fail(e));
        let (_, v) = peer
            .response(id, Duration::from_secs(120))
            .unwrap_or_else(|e| fail(e));
        (ms(t.elapsed()), v)
    };
    let (cold, first) = call(10);
    let matched = first["result"]["structuredContent"]["matched"]
        .as_u64()
        .unwrap_or(0);
    let warm: Vec<f64> = (0..runs.max(5) * 4)
        .map(|i| call(100 + i as u64).0)
        .collect();
    let warm = summarize(&warm);
    let peak_kib = common::proc_status_kib(peer.pid(), "VmHWM:").unwrap_or(0) as f64;
    let _ = peer.close_and_wait(Duration::from_secs(10));

    // jq, same filter, same file; peak memory from GNU time.
    let mut jq_times = Vec::new();
    let mut jq_peak = 0.0f64;
    let mut jq_matched = 0;
    for _ in 0..runs.min(3) {
        let t = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M", "jq", jq_filter])
            .arg(file)
            .output()
            .unwrap_or_else(|e| {
                fail(format!(
                    "jq or /usr/bin/time is missing ({e}); run scripts/setup-test-deps"
                ))
            });
        jq_times.push(t.elapsed().as_secs_f64() * 1000.0);
        jq_matched = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        let kib: f64 = String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0.0);
        jq_peak = jq_peak.max(kib / 1024.0);
    }
    Row {
        engine,
        file_mb: size / 1e6,
        parse_mb_s: size / 1e6 / parse.median,
        cold_ms: cold,
        warm_p50_ms: warm.median,
        warm_p99_ms: warm.p99,
        peak_mb: peak_kib / 1024.0,
        matched,
        jq_ms: summarize(&jq_times).median,
        jq_peak_mb: jq_peak,
        jq_matched,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let root = repo().join("target/bench-state").join(n.to_string());
    let tf_dir = root.join("tf");
    let pulumi_dir = root.join("pulumi");
    let t = Instant::now();
    let tf_file = write_terraform(&tf_dir, n);
    let pulumi_file = write_pulumi(&pulumi_dir, n);
    eprintln!(
        "state files ready in {:.1} s under {}",
        t.elapsed().as_secs_f64(),
        root.display()
    );

    let rows = vec![
        measure(
            "terraform",
            &tf_dir,
            &tf_file,
            ".",
            "aws_db_instance",
            "[.resources[] | select(.type == \"aws_db_instance\")] | length",
            runs,
        ),
        measure(
            "pulumi",
            &pulumi_dir,
            &pulumi_file,
            "bench/dev",
            "aws:rds/instance:Instance",
            "[.checkpoint.latest.resources[] | select(.type == \"aws:rds/instance:Instance\")] | length",
            runs,
        ),
    ];
    println!(
        "\nbench_state: {n} resources per state, {runs} runs\n{}",
        common::machine_facts()
    );
    print_table(
        &[
            "engine",
            "file MB",
            "parse MB/s",
            "cold call ms",
            "warm p50 ms",
            "warm p99 ms",
            "fathom peak MB",
            "peak/file",
            "matched",
            "jq ms",
            "jq peak MB",
            "jq matched",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.engine.to_string(),
                    f1(r.file_mb),
                    f1(r.parse_mb_s),
                    f1(r.cold_ms),
                    f2(r.warm_p50_ms),
                    f2(r.warm_p99_ms),
                    f1(r.peak_mb),
                    f2(r.peak_mb / r.file_mb),
                    r.matched.to_string(),
                    f1(r.jq_ms),
                    f1(r.jq_peak_mb),
                    r.jq_matched.to_string(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    for r in &rows {
        if r.matched != r.jq_matched {
            println!(
                "MISMATCH: {} matched {} but jq counted {}",
                r.engine, r.matched, r.jq_matched
            );
        }
    }
    println!(
        "\ntargets: parse >= 250 MB/s; warm filtered call <= 10 ms; peak memory <= 2x file size\n\
         'cold call' includes reading and parsing the state; 'warm' is served from the cache.\n\
         command: {}",
        common::command_line("bench_state")
    );
}
