//! Throughput and latency of fathom's streamable HTTP transport under concurrent sessions.
//!
//! Starts `fathom serve --workspace examples/demo --http 127.0.0.1:0`, reads the bound URL
//! from its stderr, opens CLIENTS MCP sessions (rmcp client, reqwest streamable HTTP
//! transport), then every session calls `code_search` {"query":"monthly_total_cents",
//! "literal":true} in a loop until SECS have passed or CALLS calls were made in total.
//! At the end the sessions are closed and the server gets SIGTERM; its exit is checked.
//!
//! The server is given `--config target/bench-http/fathom.toml`, which only moves the audit
//! log to `target/bench-http/audit.jsonl` (still a file, so the audit cost is the same) so
//! that a run does not add tens of thousands of records to examples/demo/.fathom/.
//!
//!     cargo build --release
//!     cargo run --release --example bench_http -- [--clients 64] [--secs 10] [--calls 20000]
//!
//! Not a test: it prints figures and never asserts on them. No peer: the reference server
//! (`@modelcontextprotocol/server-filesystem`) speaks stdio only.

#[path = "bench_common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{f1, f2, print_table, summarize};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const QUERY: &str = "monthly_total_cents";
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    clients: usize,
    secs: f64,
    calls: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        clients: 64,
        secs: 10.0,
        calls: 20_000,
    };
    let usage = "usage: bench_http [--clients 1..=512] [--secs 0.1..=120] [--calls 1..=1000000]";
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| common::fail(usage));
        let ok = match flag.as_str() {
            "--clients" => value.parse().map(|v| args.clients = v).is_ok(),
            "--secs" => value.parse().map(|v| args.secs = v).is_ok(),
            "--calls" => value.parse().map(|v| args.calls = v).is_ok(),
            _ => false,
        };
        if !ok {
            common::fail(usage);
        }
    }
    if !(1..=512).contains(&args.clients)
        || !(0.1..=120.0).contains(&args.secs)
        || !(1..=1_000_000).contains(&args.calls)
    {
        common::fail(usage);
    }
    args
}

/// What one client saw.
#[derive(Default)]
struct ClientReport {
    connect_ms: Option<f64>,
    connect_error: Option<String>,
    latencies_ms: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
    matches: Option<usize>,
    /// When this client's last call finished.
    last_call_end: Option<Instant>,
}

/// In-process baseline: the same search through the library, sequentially, no MCP.
fn library_baseline(runs: usize) -> (f64, usize, f64, f64) {
    use fathom::code::search::{CaseMode, Query, Scope, matcher, search};
    let root = common::repo()
        .join("examples/demo")
        .canonicalize()
        .unwrap_or_else(|e| common::fail(format!("examples/demo: {e}")));
    let query = Query {
        pattern: QUERY.into(),
        literal: true,
        case: CaseMode::Smart,
        whole_word: false,
        include: vec![],
        exclude: vec![],
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut times = Vec::with_capacity(runs);
    let mut hits = 0;
    for _ in 0..runs {
        let scope = Scope {
            root: root.clone(),
            start: root.clone(),
            max_file_bytes: 8 * 1024 * 1024,
            max_hits: 50,
            resume: None,
            deadline: Instant::now() + Duration::from_secs(30),
        };
        let t = Instant::now();
        let outcome = search(&query, &scope, &stop)
            .unwrap_or_else(|e| common::fail(format!("library search: {e}")));
        times.push(common::ms(t.elapsed()));
        hits = outcome.hits.len();
    }
    // Building the matcher alone: smart case (as sent: lower-case query, so case-insensitive)
    // and case-sensitive for comparison.
    let build = |case: CaseMode| {
        let q = Query {
            case,
            ..query.clone()
        };
        let mut t = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let m = matcher(&q).unwrap_or_else(|e| common::fail(format!("matcher: {e}")));
            t.push(common::ms(start.elapsed()));
            drop(m);
        }
        summarize(&t).median
    };
    let smart = build(CaseMode::Smart);
    let sensitive = build(CaseMode::Sensitive);
    (summarize(&times).median, hits, smart, sensitive)
}

/// Diagnostic: walking examples/demo with the `ignore` crate, parallel (as fathom's search
/// does, one thread per CPU) and sequential. Returns the medians in ms.
fn walk_baseline(runs: usize) -> (f64, f64) {
    use ignore::{WalkBuilder, WalkState};
    let root = common::repo().join("examples/demo");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let builder = || {
        let mut b = WalkBuilder::new(&root);
        b.standard_filters(true)
            .require_git(false)
            .follow_links(false);
        b
    };
    let mut parallel = Vec::with_capacity(runs);
    let mut sequential = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let n = std::sync::atomic::AtomicUsize::new(0);
        builder().threads(threads).build_parallel().run(|| {
            let n = &n;
            Box::new(move |_| {
                n.fetch_add(1, Ordering::Relaxed);
                WalkState::Continue
            })
        });
        parallel.push(common::ms(t.elapsed()));
        let t = Instant::now();
        let count = builder().build().count();
        sequential.push(common::ms(t.elapsed()));
        std::hint::black_box((n, count));
    }
    (summarize(&parallel).median, summarize(&sequential).median)
}

/// `duration_ms` of the outcome records in the audit log (time spent inside the tool).
fn audit_durations(path: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("outcome"))
        .filter_map(|v| v.get("duration_ms").and_then(Value::as_f64))
        .collect()
}

fn main() {
    let args = parse_args();
    let fathom = common::fathom_bin();
    let repo = common::repo();
    let (baseline_ms, baseline_hits, build_smart, build_sensitive) = library_baseline(500);
    let (walk_parallel, walk_sequential) = walk_baseline(500);
    let bench_dir = repo.join("target/bench-http");
    std::fs::create_dir_all(&bench_dir)
        .unwrap_or_else(|e| common::fail(format!("cannot create {}: {e}", bench_dir.display())));
    let audit = bench_dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    let config = bench_dir.join("fathom.toml");
    std::fs::write(
        &config,
        format!(
            "# written by examples/bench_http.rs\n[audit]\npath = {}\n",
            toml_string(&audit.display().to_string())
        ),
    )
    .unwrap_or_else(|e| common::fail(format!("cannot write {}: {e}", config.display())));

    let server_args = [
        "serve",
        "--workspace",
        "examples/demo",
        "--http",
        "127.0.0.1:0",
        "--config",
        "target/bench-http/fathom.toml",
    ];
    let mut child = Command::new(&fathom)
        .args(server_args)
        .current_dir(&repo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| common::fail(format!("cannot start fathom: {e}")));
    let pid = child.id();
    let stderr = child.stderr.take().expect("piped stderr");
    let (url_tx, url_rx) = std::sync::mpsc::channel::<String>();
    let stderr_lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let kept = stderr_lines.clone();
    // Keeps draining stderr for the whole run so the server never blocks on it.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("fathom: serving MCP at ") {
                let _ = url_tx.send(url.trim().to_string());
            } else if let Ok(mut k) = kept.lock()
                && k.len() < 50
            {
                k.push(line);
            }
        }
    });
    let url = match url_rx.recv_timeout(Duration::from_secs(20)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let seen = stderr_lines
                .lock()
                .map(|l| l.join("\n"))
                .unwrap_or_default();
            common::fail(format!(
                "fathom did not print its URL within 20 s; stderr:\n{seen}"
            ));
        }
    };

    // reqwest is built with `rustls-no-provider`; the client needs a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| common::fail(format!("tokio: {e}")));
    let load_before = common::load_average();
    let cpu_before = common::cpu_seconds(pid).unwrap_or(0.0);
    let (reports, phase) = runtime.block_on(load(&url, &args));
    let cpu_after = common::cpu_seconds(pid).unwrap_or(f64::NAN);
    let rss = common::proc_status_kib(pid, "VmRSS:");
    let hwm = common::proc_status_kib(pid, "VmHWM:");
    drop(runtime);
    let load_after = common::load_average();

    let term_sent = Instant::now();
    common::sigterm(pid);
    let exit = common::wait_exit(&mut child, Duration::from_secs(20));
    let exit_ms = common::ms(term_sent.elapsed());
    let exit_text = match exit {
        Some(status) => format!(
            "exited {} {:.0} ms after SIGTERM",
            status
                .code()
                .map_or("by signal".into(), |c| format!("with status {c}")),
            exit_ms
        ),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            "DID NOT EXIT within 20 s of SIGTERM (killed)".into()
        }
    };
    std::thread::sleep(Duration::from_millis(50));
    let shutdown_line = stderr_lines
        .lock()
        .map(|l| l.iter().any(|x| x.contains("shutting down")))
        .unwrap_or(false);
    let audit_records = std::fs::read_to_string(&audit).map_or(0, |t| t.lines().count());
    let tool = summarize(&audit_durations(&audit));

    // ---- report
    let connected: Vec<f64> = reports.iter().filter_map(|r| r.connect_ms).collect();
    let connect_errors: Vec<&String> = reports
        .iter()
        .filter_map(|r| r.connect_error.as_ref())
        .collect();
    let latencies: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.latencies_ms.iter().copied())
        .collect();
    let errors: usize = reports.iter().map(|r| r.errors).sum();
    let first_error = reports.iter().find_map(|r| r.first_error.clone());
    let matches = reports.iter().find_map(|r| r.matches);
    let calls = latencies.len() + errors;
    let lat = summarize(&latencies);
    let conn = summarize(&connected);
    let secs = phase.as_secs_f64();

    println!("## bench_http\n");
    println!("command: {}", common::command_line("bench_http"));
    println!("machine: {}", common::machine_facts());
    println!("load:    {load_before} before, {load_after} after (1/5/15-min load average)");
    println!(
        "server:  target/release/fathom {}  ({})",
        server_args.join(" "),
        common::version_of(&fathom, "--version")
    );
    println!(
        "         at {url}; the config only moves the audit log to {}",
        rel(&audit)
    );
    println!(
        "client:  rmcp 3.11 streamable HTTP client (reqwest; its default client opens a new \
         connection per request), tokio multi-thread runtime in this process"
    );
    println!(
        "work:    {} sessions, each calling code_search {} in a loop; stop at {} s or {} calls \
         in total; client and server share the same {} CPUs",
        args.clients,
        json!({"query": QUERY, "literal": true}),
        args.secs,
        args.calls,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "peer:    none (the reference @modelcontextprotocol/server-filesystem has no HTTP transport)\n"
    );

    let mut rows = vec![
        vec![
            "sessions opened".to_string(),
            format!("{} / {}", connected.len(), args.clients),
        ],
        vec![
            "session open median / max (ms)".into(),
            format!("{} / {}", f1(conn.median), f1(conn.max)),
        ],
        vec!["calls completed (ok + error)".into(), calls.to_string()],
        vec!["measured phase (s)".into(), f2(secs)],
        vec![
            "throughput (calls/s)".into(),
            format!("{:.0}", latencies.len() as f64 / secs),
        ],
        vec!["latency p50 (ms)".into(), f2(lat.median)],
        vec!["latency p90 (ms)".into(), f2(lat.p90)],
        vec!["latency p99 (ms)".into(), f2(lat.p99)],
        vec!["latency max (ms)".into(), f2(lat.max)],
        vec!["errors".into(), errors.to_string()],
        vec![
            "matches per answer".into(),
            matches.map_or("-".into(), |m| m.to_string()),
        ],
        vec![
            "server CPU during load (s user+sys)".into(),
            f2(cpu_after - cpu_before),
        ],
        vec![
            "server VmRSS after load / VmHWM (MiB)".into(),
            format!(
                "{} / {}",
                rss.map_or("-".into(), |k| f1(k as f64 / 1024.0)),
                hwm.map_or("-".into(), |k| f1(k as f64 / 1024.0))
            ),
        ],
        vec![
            "  inside the tool p50 / p99 (ms, audit log)".into(),
            format!("{} / {}", f2(tool.median), f2(tool.p99)),
        ],
        vec![
            "  library search alone, 1 caller (ms)".into(),
            format!("{} ({baseline_hits} hits)", f2(baseline_ms)),
        ],
        vec![
            "    of which matcher build, smart / sensitive case (ms)".into(),
            format!("{} / {}", f2(build_smart), f2(build_sensitive)),
        ],
        vec![
            "    walk of examples/demo, parallel / sequential (ms)".into(),
            format!("{} / {}", f2(walk_parallel), f2(walk_sequential)),
        ],
        vec![
            "server CPU per call (ms)".into(),
            f2((cpu_after - cpu_before) * 1000.0 / calls.max(1) as f64),
        ],
        vec!["audit records written".into(), audit_records.to_string()],
        vec!["shutdown".into(), exit_text],
    ];
    if shutdown_line {
        rows.push(vec!["server said".into(), "fathom: shutting down".into()]);
    }
    print_table(&["metric", "fathom"], &rows);
    if let Some(e) = first_error {
        println!("\nfirst error: {e}");
    }
    if !connect_errors.is_empty() {
        println!(
            "\n{} sessions failed to open; first: {}",
            connect_errors.len(),
            connect_errors[0]
        );
    }
}

/// Runs the load; returns each client's report and the length of the measured phase.
async fn load(url: &str, args: &Args) -> (Vec<ClientReport>, Duration) {
    let issued = Arc::new(AtomicUsize::new(0));
    // Everyone (clients + this task) meets at `ready` once all sessions are open; this task
    // then records the start and meets them again at `go`.
    let ready = Arc::new(Barrier::new(args.clients + 1));
    let go = Arc::new(Barrier::new(args.clients + 1));
    let start_slot = Arc::new(std::sync::OnceLock::<Instant>::new());
    let budget = Duration::from_secs_f64(args.secs);
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let url = url.to_string();
        let issued = issued.clone();
        let ready = ready.clone();
        let go = go.clone();
        let start_slot = start_slot.clone();
        let max_calls = args.calls;
        tasks.push(tokio::spawn(async move {
            let mut report = ClientReport::default();
            let t = Instant::now();
            let transport = StreamableHttpClientTransport::from_uri(url);
            let client = match tokio::time::timeout(CONNECT_TIMEOUT, ().serve(transport)).await {
                Ok(Ok(c)) => {
                    report.connect_ms = Some(common::ms(t.elapsed()));
                    Some(c)
                }
                Ok(Err(e)) => {
                    report.connect_error = Some(e.to_string());
                    None
                }
                Err(_) => {
                    report.connect_error = Some("timed out".into());
                    None
                }
            };
            ready.wait().await;
            go.wait().await;
            let Some(client) = client else { return report };
            let deadline = *start_slot
                .get()
                .expect("start set before the barrier opens")
                + budget;
            let mut args = serde_json::Map::new();
            args.insert("query".into(), json!(QUERY));
            args.insert("literal".into(), json!(true));
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_calls {
                let params = CallToolRequestParams::new("code_search").with_arguments(args.clone());
                let t = Instant::now();
                let outcome = tokio::time::timeout(CALL_TIMEOUT, client.call_tool(params)).await;
                let took = common::ms(t.elapsed());
                let problem = match outcome {
                    Ok(Ok(result)) if result.is_error != Some(true) => {
                        if report.matches.is_none() {
                            report.matches = result
                                .structured_content
                                .as_ref()
                                .and_then(|v| v.get("matches"))
                                .and_then(Value::as_array)
                                .map(Vec::len);
                        }
                        None
                    }
                    Ok(Ok(result)) => Some(format!(
                        "tool error: {}",
                        result
                            .content
                            .first()
                            .and_then(|c| c.as_text().map(|t| t.text.clone()))
                            .unwrap_or_default()
                    )),
                    Ok(Err(e)) => Some(format!("call failed: {e}")),
                    Err(_) => Some(format!("no answer within {CALL_TIMEOUT:?}")),
                };
                report.last_call_end = Some(Instant::now());
                match problem {
                    None => report.latencies_ms.push(took),
                    Some(p) => {
                        report.errors += 1;
                        report.first_error.get_or_insert(p);
                    }
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), client.cancel()).await;
            report
        }));
    }
    ready.wait().await;
    let started = Instant::now();
    let _ = start_slot.set(started);
    go.wait().await;
    let mut reports = Vec::new();
    for task in tasks {
        match task.await {
            Ok(r) => reports.push(r),
            Err(e) => reports.push(ClientReport {
                connect_error: Some(format!("client task panicked: {e}")),
                ..Default::default()
            }),
        }
    }
    // The phase ends when the last call finished (closing the sessions is not counted).
    let end = reports
        .iter()
        .filter_map(|r| r.last_call_end)
        .max()
        .unwrap_or_else(Instant::now);
    (reports, end.saturating_duration_since(started))
}

fn rel(p: &std::path::Path) -> String {
    p.strip_prefix(common::repo())
        .map_or(p.display().to_string(), |r| r.display().to_string())
}

fn toml_string(s: &str) -> String {
    json!(s).to_string()
}
