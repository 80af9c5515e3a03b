//! Cloud benchmark. Two figures:
//!
//! 1. Classifier throughput: commands per second for each CLI's classifier, over a mix of
//!    reads, writes, secret reads and refused escape attempts.
//! 2. `cloud_run` overhead: the same `aws s3api list-buckets` against a local moto server,
//!    run through `fathom serve` (MCP over stdio: policy, audit records, clean environment,
//!    redaction) and run directly, interleaved in one run. The median difference is fathom's
//!    cost per call.
//!
//!     scripts/setup-test-deps && cargo build --release && cargo run --release --example bench_cloud [-- RUNS]

#[path = "bench_common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{StdioPeer, dep, f1, f2, fail, fathom_bin, ms, print_table, repo, summarize};
use fathom::cloud::classify::{CliKind, Options, classify};
use serde_json::json;

const KEY_ID: &str = "AKIAFATHOMBENCHKEY01";
const SECRET: &str = "fathom-bench-secret-value";

fn corpus(cli: CliKind) -> Vec<Vec<String>> {
    let lines: &[&str] = match cli {
        CliKind::Aws => &[
            "ec2 describe-instances --filters Name=tag:env,Values=staging --max-items 50",
            "s3api list-objects-v2 --bucket logs --prefix 2026/12/",
            "s3 cp s3://bucket/key ./out.txt",
            "secretsmanager get-secret-value --secret-id prod/db",
            "s3api list-buckets --prof prod",
            "--region=eu-west-1 ec2 describe-vpcs",
            "rds delete-db-instance --db-instance-identifier payments --skip-final-snapshot",
            "ssm get-parameters-by-path --path /app --recursive --with-decryption",
        ],
        CliKind::Gcloud => &[
            "compute instances list --filter=zone:europe-west1-b --limit 50",
            "sql instances describe payments",
            "compute instances delete web-1 --zone europe-west1-b",
            "auth print-access-token",
            "compute instances list --project=prod",
            "storage cp gs://bucket/key ./out.txt",
            "container clusters get-credentials staging --region europe-west1",
            "beta run services list --region europe-west1",
        ],
        CliKind::Az => &[
            "vm list --resource-group staging --output json",
            "storage account show --name logs",
            "vm delete --name web-1 --resource-group staging --yes",
            "keyvault secret show --vault-name kv --name db",
            "vm list --subscription prod",
            "deployment group create --resource-group rg --template-file @main.json",
            "account get-access-token",
            "aks show --name staging --resource-group rg",
        ],
        CliKind::Kubectl => &[
            "get pods -o wide --selector app=web",
            "describe deployment web",
            "delete pod web-1",
            "get secret db -o yaml",
            "get pods -nkube-system",
            "--context=prod get pods",
            "logs deploy/web --tail 100",
            "apply -f k8s/web.yaml",
        ],
    };
    lines
        .iter()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn classifier_throughput() -> Vec<Vec<String>> {
    let opts = Options {
        allow_flags: Vec::new(),
        namespace_pinned: true,
    };
    let mut rows = Vec::new();
    for cli in [CliKind::Aws, CliKind::Gcloud, CliKind::Az, CliKind::Kubectl] {
        let commands = corpus(cli);
        let mut n = 0u64;
        let mut refused = 0u64;
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(500) {
            for c in &commands {
                if classify(cli, std::hint::black_box(c), &opts).is_err() {
                    refused += 1;
                }
                n += 1;
            }
        }
        let per_sec = n as f64 / t.elapsed().as_secs_f64();
        rows.push(vec![
            cli.program().to_string(),
            format!("{}", commands.len()),
            format!("{:.0}", per_sec),
            f2(1e6 / per_sec),
            format!(
                "{}/{}",
                refused / (n / commands.len() as u64),
                commands.len()
            ),
        ]);
    }
    rows
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    println!("## classifier throughput (one core, 0.5 s per CLI)\n");
    print_table(
        &["cli", "commands", "commands/s", "µs/command", "refused"],
        &classifier_throughput(),
    );

    // A moto server on a free loopback port.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(e));
    let mut moto = Command::new(dep("venv/bin/moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start moto_server: {e}")));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            fail("moto_server did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let aws = dep("venv/bin/aws");
    let dir = repo().join("target/bench-cloud");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(e));
    std::fs::write(
        dir.join("fathom.toml"),
        format!(
            "[[integration]]\nname = \"bench\"\ncli = \"aws\"\nprogram = \"{}\"\nregion = \"us-east-1\"\n\
             endpoint = \"{endpoint}\"\nenv = [\"AWS_CONFIG_FILE\"]\n\
             [integration.credentials]\nAWS_ACCESS_KEY_ID = {{ env = \"BENCH_KEY\" }}\n\
             AWS_SECRET_ACCESS_KEY = {{ env = \"BENCH_SECRET\" }}\n",
            aws.display()
        ),
    )
    .unwrap_or_else(|e| fail(e));
    let direct = || {
        let t = Instant::now();
        let out = Command::new(&aws)
            .args([
                "--endpoint-url",
                &endpoint,
                "--output",
                "json",
                "s3api",
                "list-buckets",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| fail(e));
        if !out.status.success() {
            fail(String::from_utf8_lossy(&out.stderr));
        }
        ms(t.elapsed())
    };
    for b in 0..5 {
        let _ = Command::new(&aws)
            .args([
                "--endpoint-url",
                &endpoint,
                "s3api",
                "create-bucket",
                "--bucket",
            ])
            .arg(format!("bench-{b}"))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .output();
    }
    let mut peer = StdioPeer::spawn(
        Command::new(fathom_bin())
            .args(["serve", "--workspace"])
            .arg(&dir)
            .env("BENCH_KEY", KEY_ID)
            .env("BENCH_SECRET", SECRET)
            .env("AWS_CONFIG_FILE", "/dev/null"),
    )
    .unwrap_or_else(|e| fail(e));
    peer.initialize(Duration::from_secs(30))
        .unwrap_or_else(|e| fail(e));
    let mut through = Vec::new();
    let mut plain = Vec::new();
    let mut answer = 0;
    // Warm both paths (Python imports into the page cache), then interleave.
    direct();
    for i in 0..=runs {
        let id = 100 + i as u64;
        let t = Instant::now();
        peer.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "cloud_run", "arguments": {"integration": "bench", "args": ["s3api", "list-buckets"]}}}))
            .unwrap_or_else(|e| fail(e));
        let (_, v) = peer
            .response(id, Duration::from_secs(60))
            .unwrap_or_else(|e| fail(e));
        let elapsed = ms(t.elapsed());
        if v["result"]["isError"] == true {
            fail(format!(
                "cloud_run failed: {}",
                v["result"]["content"][0]["text"]
            ));
        }
        answer = v["result"]["content"][0]["text"]
            .as_str()
            .map_or(0, str::len);
        if i > 0 {
            through.push(elapsed);
            plain.push(direct());
        }
    }
    let _ = peer.close_and_wait(Duration::from_secs(10));
    let _ = moto.kill();
    let _ = moto.wait();
    let a = summarize(&through);
    let b = summarize(&plain);
    println!("\n## `aws s3api list-buckets` against moto, {runs} runs each, interleaved\n");
    print_table(
        &["path", "median ms", "p90 ms", "min ms"],
        &[
            vec![
                "fathom cloud_run (MCP stdio)".into(),
                f1(a.median),
                f1(a.p90),
                f1(a.min),
            ],
            vec!["aws directly".into(), f1(b.median), f1(b.p90), f1(b.min)],
        ],
    );
    let mut diffs: Vec<f64> = through.iter().zip(&plain).map(|(x, y)| x - y).collect();
    diffs.sort_by(|x, y| x.total_cmp(y));
    let d = summarize(&diffs);
    println!(
        "\nper-call overhead (paired difference): median {} ms, p90 {} ms; answer {answer} bytes of text",
        f2(d.median),
        f2(d.p90)
    );
    println!("\n{}", common::machine_facts());
    println!("{}", common::command_line("bench_cloud"));
}
