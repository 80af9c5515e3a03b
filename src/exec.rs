//! The one way fathom runs another program: argv only (never a shell), its own process group,
//! a timeout, capped stdout/stderr, and the whole group killed on timeout or cancellation.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;

/// What to run and within which bounds.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// Program and arguments; the program is looked up on `PATH`.
    pub argv: &'a [String],
    pub cwd: &'a Path,
    /// Extra environment variables for the child.
    pub env: &'a [(String, String)],
    pub timeout: Duration,
    /// Bytes kept from each of stdout and stderr; the rest is drained and counted.
    pub max_output: usize,
}

/// How a child ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Output beyond `max_output` was dropped.
    pub truncated: bool,
    pub timed_out: bool,
    pub cancelled: bool,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// Why a child could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("`{program}` is not installed or not on PATH")]
    NotFound { program: String },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("empty command")]
    Empty,
}

/// Runs a child to completion within the spec's bounds.
pub async fn run(spec: &Spec<'_>, cancel: &CancellationToken) -> Result<Output, ExecError> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(ExecError::Empty);
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ExecError::NotFound {
                program: program.clone(),
            }
        } else {
            ExecError::Spawn {
                program: program.clone(),
                source,
            }
        }
    })?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let cap = spec.max_output;
    let out_task = tokio::spawn(read_capped(stdout, cap));
    let err_task = tokio::spawn(read_capped(stderr, cap));
    let mut timed_out = false;
    let mut cancelled = false;
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        _ = tokio::time::sleep(spec.timeout) => { timed_out = true; None }
        _ = cancel.cancelled() => { cancelled = true; None }
    };
    let status = match status {
        Some(s) => Some(s),
        None => {
            kill_group(pid);
            child.wait().await.ok()
        }
    };
    // Descendants may still hold the pipes open; give them a moment, then stop reading.
    let grace = Duration::from_secs(2);
    let (stdout, out_trunc) = tokio::time::timeout(grace, out_task)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let (stderr, err_trunc) = tokio::time::timeout(grace, err_task)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Output {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
        truncated: out_trunc || err_trunc,
        timed_out,
        cancelled,
        elapsed: started.elapsed(),
    })
}

async fn read_capped<R: AsyncRead + Unpin>(pipe: Option<R>, cap: usize) -> (Vec<u8>, bool) {
    let Some(mut pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                if room > 0 {
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
                if n > room {
                    truncated = true;
                }
            }
        }
    }
    (kept, truncated)
}

/// Terminates the child's whole process group: SIGTERM, then SIGKILL shortly after.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid
        && let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) with a negative pid signals the process group we created for the
        // child (process_group(0) made its pgid equal to its pid); no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            // SAFETY: as above.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        });
    }
    #[cfg(not(unix))]
    let _ = pid;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn captures_caps_and_times_out() {
        let cwd = std::env::temp_dir();
        let a = argv(&["sh", "-c", "echo hello; echo oops >&2; exit 3"]);
        let out = run(
            &Spec {
                argv: &a,
                cwd: &cwd,
                env: &[],
                timeout: Duration::from_secs(5),
                max_output: 1024,
            },
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"oops\n");

        let a = argv(&["sh", "-c", "yes | head -c 100000"]);
        let out = run(
            &Spec {
                argv: &a,
                cwd: &cwd,
                env: &[],
                timeout: Duration::from_secs(5),
                max_output: 10,
            },
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout.len(), 10);
        assert!(out.truncated);

        // The grandchild `sleep` is in the same group and dies with it.
        let a = argv(&["sh", "-c", "sleep 30 & sleep 30"]);
        let out = run(
            &Spec {
                argv: &a,
                cwd: &cwd,
                env: &[],
                timeout: Duration::from_millis(200),
                max_output: 10,
            },
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert!(out.timed_out);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);

        let missing = argv(&["fathom-no-such-program"]);
        let err = run(
            &Spec {
                argv: &missing,
                cwd: &cwd,
                env: &[],
                timeout: Duration::from_secs(1),
                max_output: 10,
            },
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ExecError::NotFound { .. }));
    }
}
