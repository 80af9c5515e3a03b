//! Running a preview: `terraform|tofu plan -json -out=<file>` (streamed, for progress), then
//! `show -json <file>`; or loading a saved plan. Never applies. Keeps state locking on unless
//! configured off, interrupts first on cancel/timeout so the engine releases its lock, and
//! deletes the binary plan file (it holds secrets) as soon as it has been read.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::plan::{self, Plan, PlanError};
use super::risk::Verdict;
use crate::exec;

/// Why a preview failed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
    #[error("`{command}` failed: {}", .diagnostics.join("; "))]
    Failed {
        command: String,
        diagnostics: Vec<String>,
    },
    #[error(
        "`{command}` did not finish within {secs} s (preview.timeout_secs); it was interrupted"
    )]
    TimedOut { command: String, secs: u64 },
    #[error("cancelled by the client; the engine was interrupted")]
    Cancelled,
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Other(String),
}

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct PlanRun<'a> {
    /// `terraform` or `tofu` (or a configured path).
    pub program: &'a str,
    /// Root directory.
    pub dir: &'a Path,
    /// Where the binary plan is written (inside the workspace's `.fathom/`).
    pub plan_file: PathBuf,
    pub targets: &'a [String],
    pub refresh: bool,
    pub lock: bool,
    pub timeout: Duration,
    pub interrupt_grace: Duration,
}

/// Runs the plan and returns `show -json` of it. `progress` receives one line per engine event.
pub async fn terraform_plan(
    run: &PlanRun<'_>,
    cancel: &CancellationToken,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<Vec<u8>, PreviewError> {
    if let Some(parent) = run.plan_file.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| PreviewError::Other(format!("cannot create {}: {e}", parent.display())))?;
    }
    let mut argv = vec![
        run.program.to_string(),
        "plan".into(),
        "-input=false".into(),
        "-no-color".into(),
        "-json".into(),
        format!("-lock={}", run.lock),
        format!("-out={}", run.plan_file.display()),
    ];
    if !run.refresh {
        argv.push("-refresh=false".into());
    }
    for t in run.targets {
        argv.push(format!("-target={t}"));
    }
    let command = format!("{} plan", run.program);
    let env = vec![("TF_IN_AUTOMATION".to_string(), "1".to_string())];
    let mut diagnostics = Vec::new();
    let mut planned = 0u32;
    let out = exec::run_streaming(
        &exec::Spec {
            argv: &argv,
            cwd: run.dir,
            env: &env,
            timeout: run.timeout,
            max_output: 64 * 1024 * 1024,
            clear_env: false,
            interrupt_grace: Some(run.interrupt_grace),
        },
        cancel,
        &mut |line| {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                return;
            };
            match v.get("type").and_then(Value::as_str) {
                Some("diagnostic")
                    if v.pointer("/diagnostic/severity").and_then(Value::as_str)
                        == Some("error") =>
                {
                    diagnostics.push(describe_diagnostic(&v));
                }
                Some("planned_change") => {
                    planned += 1;
                    if let Some(m) = v.get("@message").and_then(Value::as_str) {
                        progress(format!("{planned} planned: {m}"));
                    }
                }
                Some("refresh_complete") | Some("change_summary") => {
                    if let Some(m) = v.get("@message").and_then(Value::as_str) {
                        progress(m.to_string());
                    }
                }
                _ => {}
            }
        },
    )
    .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            remove(&run.plan_file);
            return Err(e.into());
        }
    };
    finished(&out, command, run.timeout, &run.plan_file, diagnostics)?;
    let shown = show_plan(run.program, run.dir, &run.plan_file, run.timeout, cancel).await;
    remove(&run.plan_file);
    shown
}

/// How to run `pulumi preview`.
#[derive(Debug, Clone)]
pub struct PulumiRun<'a> {
    pub program: &'a str,
    /// Project directory (holds `Pulumi.yaml`).
    pub dir: &'a Path,
    /// Stack name (`--stack`); the project's selected stack when `None`.
    pub stack: Option<&'a str>,
    /// Where Pulumi writes its engine event log (inside the workspace's `.fathom/`).
    pub event_log: PathBuf,
    /// Resource URNs (`--target`).
    pub targets: &'a [String],
    pub refresh: bool,
    pub timeout: Duration,
    pub interrupt_grace: Duration,
}

impl PulumiRun<'_> {
    /// The command line: JSON output with diffs, no prompts, events to `event_log`.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.program.to_string(),
            "preview".into(),
            "--json".into(),
            "--diff".into(),
            "--non-interactive".into(),
            "--color=never".into(),
            "--event-log".into(),
            self.event_log.display().to_string(),
        ];
        if let Some(s) = self.stack {
            argv.push("--stack".into());
            argv.push(s.to_string());
        }
        for t in self.targets {
            argv.push("--target".into());
            argv.push(t.clone());
        }
        if self.refresh {
            argv.push("--refresh".into());
        }
        argv
    }
}

/// Runs `pulumi preview --json --diff` and returns the preview document (or, when stdout is
/// not one, the event log, which the parser reads as well). Progress comes from the engine
/// event log, read as Pulumi writes it.
pub async fn pulumi_preview(
    run: &PulumiRun<'_>,
    cancel: &CancellationToken,
    progress: &(dyn Fn(String) + Send + Sync),
) -> Result<Vec<u8>, PreviewError> {
    if let Some(parent) = run.event_log.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| PreviewError::Other(format!("cannot create {}: {e}", parent.display())))?;
    }
    remove(&run.event_log);
    let argv = run.argv();
    let env = vec![
        ("PULUMI_SKIP_UPDATE_CHECK".to_string(), "true".to_string()),
        ("PULUMI_SKIP_CONFIRMATIONS".to_string(), "false".to_string()),
    ];
    let spec = exec::Spec {
        argv: &argv,
        cwd: run.dir,
        env: &env,
        timeout: run.timeout,
        max_output: 256 * 1024 * 1024,
        clear_env: false,
        interrupt_grace: Some(run.interrupt_grace),
    };
    let done = CancellationToken::new();
    let tail = tail_events(&run.event_log, &done, progress);
    let (out, ()) = tokio::join!(
        async {
            let r = exec::run(&spec, cancel).await;
            done.cancel();
            r
        },
        tail
    );
    let out = out?;
    let command = format!("{} preview", run.program);
    let diagnostics = pulumi_errors(&out.stdout);
    finished(
        &out,
        command.clone(),
        run.timeout,
        &run.event_log,
        diagnostics,
    )?;
    let doc = if super::pulumi_preview::is_pulumi_preview(&out.stdout) {
        out.stdout
    } else {
        std::fs::read(&run.event_log).map_err(|e| {
            PreviewError::Other(format!(
                "`{command}` printed no preview document and its event log is unreadable: {e}"
            ))
        })?
    };
    remove(&run.event_log);
    Ok(doc)
}

/// Turns a finished engine run into the error an agent can act on, if it failed: cancelled,
/// timed out, or a non-zero exit with `diagnostics` (or else the first stderr lines). `file`
/// (a plan or an event log; both can hold secrets) is removed on every failure.
fn finished(
    out: &exec::Output,
    command: String,
    timeout: Duration,
    file: &Path,
    mut diagnostics: Vec<String>,
) -> Result<(), PreviewError> {
    if out.success() && !out.cancelled && !out.timed_out {
        return Ok(());
    }
    remove(file);
    if out.cancelled {
        return Err(PreviewError::Cancelled);
    }
    if out.timed_out {
        return Err(PreviewError::TimedOut {
            command,
            secs: timeout.as_secs(),
        });
    }
    if diagnostics.is_empty() {
        diagnostics.extend(
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(6)
                .map(|l| crate::render::clip(l, 300)),
        );
    }
    Err(PreviewError::Failed {
        command,
        diagnostics,
    })
}

/// Reads the event log as it grows, reporting each planned step, until `done`.
async fn tail_events(
    path: &Path,
    done: &CancellationToken,
    progress: &(dyn Fn(String) + Send + Sync),
) {
    let mut offset = 0usize;
    let mut steps = 0usize;
    loop {
        let finished = done.is_cancelled();
        if let Ok(bytes) = std::fs::read(path)
            && bytes.len() > offset
        {
            let end = bytes[offset..]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(offset, |i| offset + i + 1);
            for line in bytes[offset..end].split(|b| *b == b'\n') {
                if let Some(m) = event_progress(line, &mut steps) {
                    progress(m);
                }
            }
            offset = end;
        }
        if finished {
            return;
        }
        tokio::select! {
            _ = done.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// A progress line for one engine event: planned steps and the summary.
pub fn event_progress(line: &[u8], steps: &mut usize) -> Option<String> {
    let v: Value = serde_json::from_slice(line).ok()?;
    if let Some(m) = v.pointer("/resourcePreEvent/metadata") {
        let op = m.get("op").and_then(Value::as_str).unwrap_or("?");
        if op == "same" {
            return None;
        }
        *steps += 1;
        let urn = m.get("urn").and_then(Value::as_str).unwrap_or("?");
        let name = urn.rsplit("::").next().unwrap_or(urn);
        return Some(format!("{steps} planned: {op} {name}"));
    }
    if let Some(s) = v.get("summaryEvent") {
        let changes = s
            .get("resourceChanges")
            .map(Value::to_string)
            .unwrap_or_default();
        return Some(format!("preview finished: {changes}"));
    }
    if let Some(d) = v.get("diagnosticEvent")
        && d.get("severity").and_then(Value::as_str) == Some("error")
    {
        let m = d.get("message").and_then(Value::as_str).unwrap_or("");
        return Some(format!("error: {}", crate::render::clip(m, 200)));
    }
    None
}

/// Error diagnostics from a failed `pulumi preview --json` document.
fn pulumi_errors(stdout: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(stdout) else {
        return Vec::new();
    };
    v.get("diagnostics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| d.get("severity").and_then(Value::as_str) == Some("error"))
        .filter_map(|d| d.get("message").and_then(Value::as_str))
        .map(|m| crate::render::clip(m.trim(), 300))
        .take(6)
        .collect()
}

/// `show -json <plan file>` in `dir`.
pub async fn show_plan(
    program: &str,
    dir: &Path,
    file: &Path,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Vec<u8>, PreviewError> {
    let argv = vec![
        program.to_string(),
        "show".into(),
        "-json".into(),
        "-no-color".into(),
        file.display().to_string(),
    ];
    let out = exec::run(
        &exec::Spec {
            argv: &argv,
            cwd: dir,
            env: &[],
            timeout,
            max_output: 1024 * 1024 * 1024,
            clear_env: false,
            interrupt_grace: None,
        },
        cancel,
    )
    .await?;
    if out.cancelled {
        return Err(PreviewError::Cancelled);
    }
    let command = format!("{program} show -json");
    if out.timed_out {
        return Err(PreviewError::TimedOut {
            command,
            secs: timeout.as_secs(),
        });
    }
    if !out.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(PreviewError::Failed {
            command,
            diagnostics: stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(6)
                .map(|l| crate::render::clip(l, 300))
                .collect(),
        });
    }
    Ok(out.stdout)
}

fn remove(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// `summary: detail (address)` of a `-json` diagnostic.
fn describe_diagnostic(v: &Value) -> String {
    let d = &v["diagnostic"];
    let summary = d["summary"].as_str().unwrap_or("error");
    let detail = d["detail"]
        .as_str()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    let mut out = summary.to_string();
    if !detail.is_empty() {
        out.push_str(&format!(": {detail}"));
    }
    if let Some(addr) = d["address"].as_str() {
        out.push_str(&format!(" ({addr})"));
    }
    if let Some(file) = d.pointer("/range/filename").and_then(Value::as_str) {
        let line = d
            .pointer("/range/start/line")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        out.push_str(&format!(" at {file}:{line}"));
    }
    crate::render::clip(&out, 400)
}

/// Reads a saved plan: Terraform plan JSON and Pulumi previews (`--json` or an event log) are
/// parsed directly; anything else is treated as a binary plan and shown through the CLI in `dir`.
pub async fn load_plan_file(
    file: &Path,
    display: &str,
    cli: Option<(&str, &Path)>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<Plan, PreviewError> {
    let bytes = std::fs::read(file)
        .map_err(|e| PreviewError::Other(format!("cannot read {display}: {e}")))?;
    let looks_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if looks_json && super::pulumi_preview::is_pulumi_preview(&bytes) {
        return Ok(super::pulumi_preview::parse(&bytes, display)?);
    }
    if looks_json {
        return Ok(plan::parse_plan(&bytes, display)?);
    }
    let Some((program, dir)) = cli else {
        return Err(PreviewError::Other(format!(
            "{display} is a binary plan; reading it needs the CLI in the stack's directory: pass `stack` too"
        )));
    };
    let json = show_plan(program, dir, file, timeout, cancel).await?;
    Ok(plan::parse_plan(&json, display)?)
}

/// A finished preview, kept for `preview_change`.
#[derive(Debug)]
pub struct Preview {
    pub id: String,
    pub stack: Option<String>,
    /// How the plan was obtained (`terraform plan`, `plan file x.json`).
    pub source: String,
    pub plan: Plan,
    pub verdict: Verdict,
}

/// The last previews, by id (bounded; the oldest go first).
#[derive(Debug, Default)]
pub struct PreviewStore {
    items: Mutex<VecDeque<Arc<Preview>>>,
    counter: std::sync::atomic::AtomicU64,
}

/// Previews kept in memory.
const KEEP: usize = 32;

impl PreviewStore {
    /// A fresh, short id.
    pub fn next_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            % 0x1000;
        format!("p{n}-{salt:03x}")
    }

    pub fn put(&self, p: Preview) -> Arc<Preview> {
        let p = Arc::new(p);
        if let Ok(mut items) = self.items.lock() {
            items.push_back(p.clone());
            while items.len() > KEEP {
                items.pop_front();
            }
        }
        p
    }

    pub fn get(&self, id: &str) -> Option<Arc<Preview>> {
        self.items.lock().ok()?.iter().find(|p| p.id == id).cloned()
    }

    /// Ids held, newest first (for error messages).
    pub fn ids(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|i| i.iter().rev().map(|p| p.id.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulumi_argv_is_read_only_and_progress_names_planned_steps() {
        let targets = vec!["urn:pulumi:dev::shop::aws:s3/bucket:Bucket::logs".to_string()];
        let run = PulumiRun {
            program: "pulumi",
            dir: Path::new("/ws/app"),
            stack: Some("dev"),
            event_log: PathBuf::from("/ws/.fathom/plans/p1.events.json"),
            targets: &targets,
            refresh: false,
            timeout: Duration::from_secs(5),
            interrupt_grace: Duration::from_secs(1),
        };
        let argv = run.argv();
        assert_eq!(
            &argv[..5],
            ["pulumi", "preview", "--json", "--diff", "--non-interactive"]
        );
        assert!(argv.windows(2).any(|w| w == ["--stack", "dev"]));
        assert!(
            argv.windows(2)
                .any(|w| w[0] == "--target" && w[1] == targets[0])
        );
        assert!(
            !argv
                .iter()
                .any(|a| a == "up" || a == "--yes" || a == "--refresh")
        );
        let mut steps = 0;
        let same =
            br#"{"resourcePreEvent":{"metadata":{"op":"same","urn":"urn:pulumi:dev::shop::t::a"}}}"#;
        assert_eq!(event_progress(same, &mut steps), None);
        let replace = br#"{"resourcePreEvent":{"metadata":{"op":"replace","urn":"urn:pulumi:dev::shop::aws:dynamodb/table:Table::ledger"}}}"#;
        assert_eq!(
            event_progress(replace, &mut steps).as_deref(),
            Some("1 planned: replace ledger")
        );
        let summary = br#"{"summaryEvent":{"resourceChanges":{"replace":1,"same":1}}}"#;
        assert!(
            event_progress(summary, &mut steps)
                .unwrap()
                .starts_with("preview finished")
        );
        let failed =
            br#"{"diagnostics":[{"message":"error: no stack named 'dev'\n","severity":"error"}]}"#;
        assert_eq!(pulumi_errors(failed), vec!["error: no stack named 'dev'"]);
    }
}
