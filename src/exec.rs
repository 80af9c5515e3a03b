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
    /// On timeout or cancellation, send SIGINT first and allow this long for a clean stop
    /// (Terraform releases its state lock), before killing the group.
    pub interrupt_grace: Option<Duration>,
    /// Start from an empty environment (only `env` is set), so nothing of fathom's own
    /// environment, credentials included, reaches the child.
    pub clear_env: bool,
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
    run_streaming(spec, cancel, &mut |_| {}).await
}

/// Like [`run`], calling `on_line` with each stdout line as it arrives (for progress).
pub async fn run_streaming(
    spec: &Spec<'_>,
    cancel: &CancellationToken,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<Output, ExecError> {
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
    if spec.clear_env {
        cmd.env_clear();
    }
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
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let out_task = tokio::spawn(read_lines_capped(stdout, cap, line_tx));
    let err_task = tokio::spawn(read_capped(stderr, cap));
    let mut timed_out = false;
    let mut cancelled = false;
    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut lines_open = true;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            line = line_rx.recv(), if lines_open => match line {
                Some(l) => on_line(&l),
                None => lines_open = false,
            },
            _ = &mut deadline => { timed_out = true; break None }
            _ = cancel.cancelled() => { cancelled = true; break None }
        }
    };
    let status = match status {
        Some(s) => Some(s),
        None => {
            if let Some(grace) = spec.interrupt_grace {
                signal_group(pid, Signal::Interrupt);
                match tokio::time::timeout(grace, child.wait()).await {
                    Ok(s) => s.ok(),
                    Err(_) => {
                        kill_group(pid);
                        child.wait().await.ok()
                    }
                }
            } else {
                kill_group(pid);
                child.wait().await.ok()
            }
        }
    };
    // Whatever the leader did, no member of its group outlives the call; this also closes
    // pipes that background descendants held open.
    kill_group(pid);
    // Descendants may take a moment to die; then stop reading.
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
    // Lines that arrived before exit still count as progress.
    while let Ok(l) = line_rx.try_recv() {
        on_line(&l);
    }
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

/// Reads stdout, keeping up to `cap` bytes and forwarding each complete line.
async fn read_lines_capped<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    cap: usize,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
) -> (Vec<u8>, bool) {
    let Some(mut pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                let room = cap.saturating_sub(kept.len());
                if room > 0 {
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
                if n > room {
                    truncated = true;
                }
                pending.extend_from_slice(chunk);
                while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=i).collect();
                    let _ =
                        lines.send(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
                }
                // A single line longer than the cap is not forwarded whole.
                if pending.len() > cap {
                    pending.clear();
                }
            }
        }
    }
    if !pending.is_empty() {
        let _ = lines.send(String::from_utf8_lossy(&pending).into_owned());
    }
    (kept, truncated)
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

#[derive(Clone, Copy)]
enum Signal {
    Interrupt,
}

/// Sends a signal to the child's process group (created with `process_group(0)`).
fn signal_group(pid: Option<u32>, signal: Signal) {
    #[cfg(unix)]
    if let Some(pid) = pid
        && let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        let sig = match signal {
            Signal::Interrupt => libc::SIGINT,
        };
        // SAFETY: kill(2) with a negative pid signals the process group we created for the
        // child (its pgid equals its pid); no memory is involved.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
    #[cfg(not(unix))]
    let _ = (pid, signal);
}

/// Kills a process group at once (SIGKILL); for long-lived children fathom owns, such as
/// language servers, when they hang or fathom lets them go.
pub fn kill_group_now(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid
        && let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: as in `signal_group`: signals the group we created; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Terminates the child's whole process group: SIGTERM, then SIGKILL shortly after.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid
        && let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: as in `signal_group`.
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

    async fn sh(
        script: &str,
        timeout: Duration,
        max_output: usize,
        grace: Option<Duration>,
    ) -> Result<Output, ExecError> {
        let argv: Vec<String> = vec!["sh".into(), "-c".into(), script.into()];
        let cwd = std::env::temp_dir();
        let spec = Spec {
            argv: &argv,
            cwd: &cwd,
            env: &[],
            timeout,
            max_output,
            clear_env: false,
            interrupt_grace: grace,
        };
        run(&spec, &CancellationToken::new()).await
    }

    #[tokio::test]
    async fn captures_caps_and_times_out() {
        let out = sh(
            "echo hello; echo oops >&2; exit 3",
            Duration::from_secs(5),
            1024,
            None,
        )
        .await
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"oops\n");

        let out = sh("yes | head -c 100000", Duration::from_secs(5), 10, None)
            .await
            .unwrap();
        assert_eq!(out.stdout.len(), 10);
        assert!(out.truncated);

        // The grandchild `sleep` is in the same group and dies with it.
        let out = sh("sleep 30 & sleep 30", Duration::from_millis(200), 10, None)
            .await
            .unwrap();
        assert!(out.timed_out);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);

        let missing = vec!["fathom-no-such-program".to_string()];
        let cwd = std::env::temp_dir();
        let spec = Spec {
            argv: &missing,
            cwd: &cwd,
            env: &[],
            timeout: Duration::from_secs(1),
            max_output: 10,
            clear_env: false,
            interrupt_grace: None,
        };
        let err = run(&spec, &CancellationToken::new()).await.unwrap_err();
        assert!(matches!(err, ExecError::NotFound { .. }));
    }

    #[tokio::test]
    async fn interrupts_first_and_streams_lines() {
        // A program that cleans up on SIGINT gets to do so.
        let out = sh(
            "trap 'echo cleaned-up; exit 130' INT; echo started; sleep 30 & wait",
            Duration::from_millis(300),
            1024,
            Some(Duration::from_secs(5)),
        )
        .await
        .unwrap();
        assert!(out.timed_out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("started") && text.contains("cleaned-up"),
            "{text}"
        );
        assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);

        let argv: Vec<String> = vec!["sh".into(), "-c".into(), "printf 'a\\nb\\nc'".into()];
        let cwd = std::env::temp_dir();
        let spec = Spec {
            argv: &argv,
            cwd: &cwd,
            env: &[],
            timeout: Duration::from_secs(5),
            max_output: 1024,
            clear_env: false,
            interrupt_grace: None,
        };
        let mut lines = Vec::new();
        run_streaming(&spec, &CancellationToken::new(), &mut |l| {
            lines.push(l.to_string())
        })
        .await
        .unwrap();
        assert_eq!(lines, vec!["a", "b", "c"]);
    }
}
