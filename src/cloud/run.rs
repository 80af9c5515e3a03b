//! Running one approved or read command: argv only (never a shell), a clean environment, the
//! integration's timeout and output cap, the whole process group killed at the end, and every
//! byte of output passed through the redactor (with the call's own credential values added)
//! before anyone sees it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::integration::{Integration, PrepareError};
use crate::exec::{self, ExecError};
use crate::redact::{MASK, Redactor};

/// What a finished command produced, already redacted.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub exit_code: Option<i32>,
    /// Standard output: JSON re-serialised compactly when it parses, else the text.
    pub stdout: String,
    /// Standard output as JSON, when it was JSON.
    pub json: Option<Value>,
    pub stderr: String,
    /// Output beyond the integration's cap was dropped.
    pub truncated: bool,
    pub timed_out: bool,
    pub cancelled: bool,
    pub elapsed: Duration,
    /// Bytes the child wrote (kept part), before redaction.
    pub output_bytes: usize,
}

/// Why a command could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// Runs `args` on `integration` with the workspace as working directory.
pub async fn execute(
    integration: &Integration,
    args: &[String],
    workspace: &Path,
    redactor: &Redactor,
    cancel: &CancellationToken,
) -> Result<RunOutput, RunError> {
    let program = integration
        .locate(workspace)
        .ok_or_else(|| PrepareError::ProgramMissing {
            program: integration
                .config
                .program
                .clone()
                .unwrap_or_else(|| integration.cli().program().to_string()),
        })?;
    let env = integration.child_env(workspace)?;
    let argv = integration.argv(&program, args);
    let spec = exec::Spec {
        argv: &argv,
        cwd: workspace,
        env: &env.vars,
        timeout: Duration::from_secs(integration.config.timeout_secs),
        max_output: integration.config.max_output_bytes,
        interrupt_grace: Some(Duration::from_secs(2)),
        clear_env: true,
    };
    let out = exec::run(&spec, cancel).await?;
    let scrub = |bytes: &[u8]| {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for secret in env.secrets.iter().filter(|s| s.len() >= 4) {
            text = text.replace(secret.as_str(), MASK);
        }
        redactor.text(&text)
    };
    let stdout = scrub(&out.stdout);
    // JSON is also masked by key (`SecretAccessKey`, `Credentials`, `password`…), which
    // plain-text patterns cannot see.
    let json = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .filter(|_| !stdout.trim().is_empty())
        .map(|v| redactor.json(&v));
    let stdout = match &json {
        Some(v) => serde_json::to_string(v).unwrap_or(stdout),
        None => stdout,
    };
    Ok(RunOutput {
        exit_code: out.code,
        stdout,
        json,
        stderr: scrub(&out.stderr),
        truncated: out.truncated,
        timed_out: out.timed_out,
        cancelled: out.cancelled,
        elapsed: out.elapsed,
        output_bytes: out.stdout.len() + out.stderr.len(),
    })
}
