//! Cold start of a stdio MCP server, fathom beside `@modelcontextprotocol/server-filesystem`.
//!
//! One run: spawn the server on `examples/demo`, send `initialize` (protocol 2025-11-25),
//! wait for its result, send `notifications/initialized` and `tools/list`, read until the
//! `tools/list` response, close stdin and wait for the process to exit. Runs alternate
//! between the two servers. Idle memory is measured in separate runs (so the idle pause is
//! not part of any timing): after `tools/list`, wait, read VmRSS from /proc, then close.
//!
//!     cargo build --release
//!     cargo run --release --example bench_cold_start -- [RUNS]     (default 30)
//!
//! Not a test: it prints figures and never asserts on them.

#[path = "bench_common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{f1, ms, print_table, summarize};
use serde_json::{Value, json};

const DEFAULT_RUNS: usize = 30;
const MAX_RUNS: usize = 500;
const RSS_RUNS: usize = 5;
const IDLE_PAUSE: Duration = Duration::from_millis(500);
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const TARGET_MEDIAN_MS: f64 = 15.0;
const TARGET_RSS_MIB: f64 = 15.0;

struct Server {
    label: String,
    program: PathBuf,
    args: Vec<String>,
}

impl Server {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(common::repo());
        cmd
    }

    fn shown(&self) -> String {
        let repo = common::repo();
        let program = self.program.strip_prefix(&repo).unwrap_or(&self.program);
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                PathBuf::from(a)
                    .strip_prefix(&repo)
                    .map_or(a.clone(), |p| p.display().to_string())
            })
            .collect();
        format!("{} {}", program.display(), args.join(" "))
    }
}

/// Timings of one cold start, in ms from spawn.
#[derive(Default)]
struct Run {
    init: f64,
    list: f64,
    exit: f64,
    close_to_exit: f64,
    list_bytes: usize,
    tools: usize,
    exit_code: Option<i32>,
}

/// Memory of one idle server, KiB.
struct Idle {
    rss: u64,
    hwm: u64,
}

fn tools_list(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}})
}

fn cold_run(server: &Server, idle: Option<Duration>) -> Result<(Run, Option<Idle>), String> {
    let t0 = Instant::now();
    let mut peer = common::StdioPeer::spawn(&mut server.command())?;
    peer.send(&common::initialize_request(1))?;
    peer.response(1, STEP_TIMEOUT)?;
    let init = ms(t0.elapsed());
    peer.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    peer.send(&tools_list(2))?;
    let (line, value) = peer.response(2, STEP_TIMEOUT)?;
    let list = ms(t0.elapsed());
    let tools = value
        .pointer("/result/tools")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut memory = None;
    if let Some(pause) = idle {
        std::thread::sleep(pause);
        let pid = peer.pid();
        memory = Some(Idle {
            rss: common::proc_status_kib(pid, "VmRSS:").ok_or("no VmRSS in /proc")?,
            hwm: common::proc_status_kib(pid, "VmHWM:").unwrap_or(0),
        });
    }
    let closed = Instant::now();
    let status = peer
        .close_and_wait(EXIT_TIMEOUT)
        .ok_or_else(|| format!("did not exit within {EXIT_TIMEOUT:?} of stdin closing"))?;
    let run = Run {
        init,
        list,
        exit: ms(t0.elapsed()),
        close_to_exit: ms(closed.elapsed()),
        list_bytes: line.len(),
        tools,
        exit_code: status.code(),
    };
    Ok((run, memory))
}

struct Results {
    runs: Vec<Run>,
    idle: Vec<Idle>,
}

fn main() {
    let runs = match std::env::args().nth(1) {
        None => DEFAULT_RUNS,
        Some(a) => match a.parse::<usize>() {
            Ok(n) if (1..=MAX_RUNS).contains(&n) => n,
            _ => common::fail(format!("usage: bench_cold_start [RUNS 1..={MAX_RUNS}]")),
        },
    };
    let fathom = common::fathom_bin();
    let node = common::node_bin();
    let script = common::server_filesystem_script();
    let demo = common::repo().join("examples/demo");
    if !demo.is_dir() {
        common::fail(format!("{} is missing", demo.display()));
    }
    let servers = [
        Server {
            label: "fathom".into(),
            program: fathom.clone(),
            args: vec!["serve".into(), "--workspace".into(), "examples/demo".into()],
        },
        Server {
            label: "server-filesystem".into(),
            program: node.clone(),
            args: vec![script.display().to_string(), "examples/demo".into()],
        },
    ];

    // One untimed run each warms the page cache (binaries, node_modules).
    for s in &servers {
        if let Err(e) = cold_run(s, None) {
            common::fail(format!("{}: warm-up run failed: {e}", s.label));
        }
    }
    let mut results: Vec<Results> = servers
        .iter()
        .map(|_| Results {
            runs: Vec::new(),
            idle: Vec::new(),
        })
        .collect();
    let load_before = common::load_average();
    let started = Instant::now();
    for _ in 0..runs {
        for (s, r) in servers.iter().zip(results.iter_mut()) {
            match cold_run(s, None) {
                Ok((run, _)) => r.runs.push(run),
                Err(e) => common::fail(format!("{}: {e}", s.label)),
            }
        }
    }
    for _ in 0..RSS_RUNS {
        for (s, r) in servers.iter().zip(results.iter_mut()) {
            match cold_run(s, Some(IDLE_PAUSE)) {
                Ok((_, Some(idle))) => r.idle.push(idle),
                Ok(_) => {}
                Err(e) => common::fail(format!("{}: {e}", s.label)),
            }
        }
    }
    let elapsed = started.elapsed();
    let load_after = common::load_average();

    println!("## bench_cold_start\n");
    println!("command: {}", common::command_line("bench_cold_start"));
    println!("machine: {}", common::machine_facts());
    println!("load:    {load_before} before, {load_after} after (1/5/15-min load average)");
    println!(
        "fathom:  {}  ({})",
        servers[0].shown(),
        common::version_of(&fathom, "--version")
    );
    println!(
        "peer:    {}  (@modelcontextprotocol/server-filesystem {}, node {})",
        servers[1].shown(),
        common::npm_version("@modelcontextprotocol/server-filesystem"),
        common::version_of(&node, "--version")
    );
    println!(
        "sequence: spawn, initialize ({}) → result, notifications/initialized, tools/list → \
         result, close stdin, wait for exit",
        common::PROTOCOL_VERSION
    );
    println!(
        "runs: {runs} timed per server (alternating, after 1 warm-up each); idle memory from \
         {RSS_RUNS} more runs each, read {} ms after the tools/list result; total {:.1} s\n",
        IDLE_PAUSE.as_millis(),
        elapsed.as_secs_f64()
    );

    let stat =
        |r: &Results, f: fn(&Run) -> f64| summarize(&r.runs.iter().map(f).collect::<Vec<_>>());
    let mib = |kib: f64| kib / 1024.0;
    let f = &results[0];
    let p = &results[1];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |name: &str, a: String, target: &str, b: String| {
        rows.push(vec![name.to_string(), a, target.to_string(), b]);
    };
    let (fe, pe) = (stat(f, |r| r.exit), stat(p, |r| r.exit));
    row(
        "cold start median, spawn→exit (ms)",
        f1(fe.median),
        &format!("≤ {TARGET_MEDIAN_MS}"),
        f1(pe.median),
    );
    row("cold start p90 (ms)", f1(fe.p90), "", f1(pe.p90));
    row("cold start min (ms)", f1(fe.min), "", f1(pe.min));
    row("cold start max (ms)", f1(fe.max), "", f1(pe.max));
    row(
        "  spawn→initialize result, median (ms)",
        f1(stat(f, |r| r.init).median),
        "",
        f1(stat(p, |r| r.init).median),
    );
    row(
        "  spawn→tools/list result, median (ms)",
        f1(stat(f, |r| r.list).median),
        "",
        f1(stat(p, |r| r.list).median),
    );
    row(
        "  stdin closed→exit, median (ms)",
        f1(stat(f, |r| r.close_to_exit).median),
        "",
        f1(stat(p, |r| r.close_to_exit).median),
    );
    let idle_stat = |r: &Results, g: fn(&Idle) -> u64| {
        summarize(&r.idle.iter().map(|i| g(i) as f64).collect::<Vec<_>>())
    };
    let (fr, pr) = (idle_stat(f, |i| i.rss), idle_stat(p, |i| i.rss));
    row(
        "idle VmRSS, median (MiB)",
        f1(mib(fr.median)),
        &format!("≤ {TARGET_RSS_MIB}"),
        f1(mib(pr.median)),
    );
    row(
        "idle VmRSS, max (MiB)",
        f1(mib(fr.max)),
        "",
        f1(mib(pr.max)),
    );
    row(
        "peak VmHWM, median (MiB)",
        f1(mib(idle_stat(f, |i| i.hwm).median)),
        "",
        f1(mib(idle_stat(p, |i| i.hwm).median)),
    );
    let last = |r: &Results| r.runs.last().map_or((0, 0), |x| (x.list_bytes, x.tools));
    let ((fb, ft), (pb, pt)) = (last(f), last(p));
    row(
        "tools/list response (bytes)",
        fb.to_string(),
        "",
        pb.to_string(),
    );
    row("tools listed", ft.to_string(), "", pt.to_string());
    let codes = |r: &Results| {
        let mut c: Vec<String> = r
            .runs
            .iter()
            .map(|x| x.exit_code.map_or("signal".into(), |c| c.to_string()))
            .collect();
        c.sort();
        c.dedup();
        c.join(",")
    };
    row("exit status", codes(f), "", codes(p));
    print_table(&["metric", "fathom", "target", "server-filesystem"], &rows);

    let verdict = |ok: bool| if ok { "within" } else { "OVER" };
    println!(
        "\nfathom vs targets: median {:.1} ms ({} ≤ {TARGET_MEDIAN_MS} ms), idle RSS {:.1} MiB \
         ({} ≤ {TARGET_RSS_MIB} MiB); peer/fathom cold-start ratio {:.1}x",
        fe.median,
        verdict(fe.median <= TARGET_MEDIAN_MS),
        mib(fr.median),
        verdict(mib(fr.median) <= TARGET_RSS_MIB),
        pe.median / fe.median
    );
}
