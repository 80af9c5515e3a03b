//! Shared helpers for the integration tests: scratch workspaces, the real `fathom` binary,
//! HTTP servers on ephemeral ports, and the project-local test prerequisites.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
pub mod terraform;

/// The binary under test.
pub fn fathom() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fathom"))
}

/// Repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command every test prerequisite comes from.
pub const SETUP: &str = "scripts/setup-test-deps";

/// Path of a prerequisite under `.deps/`; panics with the setup command when it is missing,
/// so a test never passes (or skips) silently without it.
pub fn dep(relative: &str) -> PathBuf {
    let path = repo().join(".deps").join(relative);
    assert!(
        path.exists(),
        "test prerequisite {} is missing; run `{SETUP}` first",
        path.display()
    );
    path
}

/// A fresh scratch directory (removed when dropped).
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "fathom-it-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::remove_dir_all(&path).ok();
        std::fs::create_dir_all(&path).expect("create scratch dir");
        let path = path.canonicalize().expect("canonical scratch dir");
        Self { path }
    }

    /// Writes `content` at `rel`, creating parents.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(p, content).expect("write file");
        self
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.path).ok();
    }
}

/// A small workspace like the demo: TypeScript, Python, Terraform, ignored and binary files.
pub fn sample_workspace() -> Scratch {
    let ws = Scratch::new("ws");
    ws.write(
        "app/billing.ts",
        "export function monthly_total_cents(items: number[]): number {\n  return items.reduce((a, b) => a + b, 0);\n}\n",
    )
    .write(
        "app/invoice.ts",
        "import { monthly_total_cents } from \"./billing\";\nconst t = monthly_total_cents([1, 2]);\n",
    )
    .write(
        "jobs/job.py",
        "def monthly_total_cents(items):\n    return sum(items)\n",
    )
    .write("infra/main.tf", "resource \"aws_db_instance\" \"payments\" {\n  engine = \"postgres\"\n}\n")
    .write(".gitignore", "dist/\n*.log\n")
    .write("dist/bundle.js", "function monthly_total_cents(){}\n")
    .write("debug.log", "monthly_total_cents called\n")
    .write("assets/blob.bin", b"monthly_total_cents\x00\x01\x02\x03")
    .write("fathom.toml", "[output]\nbudget_bytes = 16384\n");
    ws
}

/// A running `fathom serve --http` child, killed when dropped.
pub struct HttpServer {
    pub child: Child,
    pub url: String,
    pub base: String,
}

impl HttpServer {
    /// Starts the server on an ephemeral loopback port and waits for its URL line.
    pub fn start(workspace: &Path, extra_env: &[(&str, &str)]) -> Self {
        Self::try_start(workspace, extra_env, "127.0.0.1:0").expect("server did not start")
    }

    /// Like [`start`], returning the stderr text on failure.
    pub fn try_start(
        workspace: &Path,
        extra_env: &[(&str, &str)],
        addr: &str,
    ) -> Result<Self, String> {
        let mut cmd = Command::new(fathom());
        cmd.args(["serve", "--workspace"])
            .arg(workspace)
            .args(["--http", addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn fathom");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("fathom: serving MCP at ") {
                    let _ = tx.send(Ok(url.trim().to_string()));
                } else {
                    seen.push_str(&line);
                    seen.push('\n');
                }
            }
            let _ = tx.send(Err(seen));
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(url)) => {
                let base = url.trim_end_matches("/mcp").to_string();
                Ok(Self { child, url, base })
            }
            Ok(Err(stderr)) => {
                let _ = child.wait();
                Err(stderr)
            }
            Err(_) => {
                let _ = child.kill();
                Err("timed out waiting for the server".into())
            }
        }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `fathom` with arguments and returns (exit code, stdout, stderr).
pub fn run_fathom(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(fathom())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run fathom");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Installs the process-wide TLS provider that HTTP clients (reqwest) need in this build.
pub fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An rmcp client session with a `fathom serve` child over stdio.
pub type Client = rmcp::service::RunningService<rmcp::RoleClient, ()>;

/// Starts `fathom serve --workspace ws` (with extra environment) and completes the handshake.
pub async fn connect_with_env(ws: &Path, env: &[(String, String)]) -> Client {
    use rmcp::ServiceExt;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    let env = env.to_vec();
    let transport = TokioChildProcess::new(tokio::process::Command::new(fathom()).configure(|c| {
        c.arg("serve").arg("--workspace").arg(ws);
        for (k, v) in &env {
            c.env(k, v);
        }
    }))
    .expect("spawn fathom");
    ().serve(transport).await.expect("initialize")
}

/// Starts `fathom serve --workspace ws` and completes the handshake.
pub async fn connect(ws: &Path) -> Client {
    connect_with_env(ws, &[]).await
}

/// Calls a tool with an object of arguments; protocol errors panic.
pub async fn call(
    client: &Client,
    tool: &str,
    args: serde_json::Value,
) -> rmcp::model::CallToolResult {
    let serde_json::Value::Object(map) = args else {
        panic!("tool arguments must be an object")
    };
    client
        .call_tool(rmcp::model::CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .expect("tools/call")
}

/// The text content of a result.
pub fn text(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Command lines of live processes whose working directory is inside `dir` (engines and
/// language servers fathom starts run in the workspace).
pub fn processes_in(dir: &Path) -> Vec<String> {
    processes_with_pids_in(dir)
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

/// Like [`processes_in`], with each process id.
pub fn processes_with_pids_in(dir: &Path) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let p = entry.path();
        let Some(pid) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(p.join("cwd")) else {
            continue;
        };
        if !cwd.starts_with(dir) {
            continue;
        }
        let cmdline = std::fs::read(p.join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.trim().is_empty() {
            out.push((pid, cmdline));
        }
    }
    out
}
