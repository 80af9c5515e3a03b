//! Stdio transport: newline-delimited JSON-RPC on stdin/stdout for local clients (Claude Code,
//! Cursor, agent harnesses). Logs go to stderr only; stdout carries protocol messages alone.
//!
//! A thin framing layer sits in front of rmcp: it answers lines that are not JSON at all with
//! a JSON-RPC parse error (-32700) instead of dropping them silently, and bounds line length,
//! so a broken client learns what went wrong and the session goes on.

use std::sync::Arc;

use futures::StreamExt;
use rmcp::ServiceExt;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use super::{App, FathomServer};

/// Longest accepted message line.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Serves one client until it closes stdin.
pub async fn serve(app: Arc<App>) -> anyhow::Result<()> {
    serve_on(app, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves one client over any byte streams (stdin/stdout in production).
pub async fn serve_on<R, W>(app: Arc<App>, input: R, output: W) -> anyhow::Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (to_rmcp, rmcp_in) = tokio::io::duplex(64 * 1024);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(64 * 1024);
    let (errors_tx, errors_rx) = mpsc::unbounded_channel::<String>();

    let reader = tokio::spawn(filter_input(input, to_rmcp, errors_tx));
    let writer = tokio::spawn(merge_output(from_rmcp, errors_rx, output));

    let server = FathomServer::new(app);
    let result = match server.serve((rmcp_in, rmcp_out)).await {
        Ok(running) => running
            .waiting()
            .await
            .map(|_| ())
            .map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::anyhow!("stdio session failed to start: {e}")),
    };
    reader.abort();
    let _ = writer.await;
    result
}

/// Forwards JSON lines to rmcp; answers anything else with a parse error.
async fn filter_input<R, W>(input: R, mut to_rmcp: W, errors: mpsc::UnboundedSender<String>)
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(MAX_LINE_BYTES));
    while let Some(next) = lines.next().await {
        let line = match next {
            Ok(line) => line,
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                let _ = errors.send(parse_error(&format!(
                    "message longer than {MAX_LINE_BYTES} bytes; it was discarded"
                )));
                continue;
            }
            Err(LinesCodecError::Io(e)) => {
                tracing::debug!(error = %e, "stdin closed with an error");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&line) {
            let _ = errors.send(parse_error(&format!("not valid JSON ({e})")));
            continue;
        }
        if to_rmcp.write_all(line.as_bytes()).await.is_err()
            || to_rmcp.write_all(b"\n").await.is_err()
            || to_rmcp.flush().await.is_err()
        {
            break;
        }
    }
    // Dropping `to_rmcp` closes rmcp's input, which ends the session.
}

/// Copies rmcp's output lines and injected errors to stdout, one whole line at a time.
async fn merge_output<R, W>(from_rmcp: R, mut errors: mpsc::UnboundedReceiver<String>, mut out: W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(from_rmcp).lines();
    let mut errors_open = true;
    loop {
        let line = tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => line,
                _ => break,
            },
            error = errors.recv(), if errors_open => match error {
                Some(e) => e,
                None => { errors_open = false; continue; }
            },
        };
        if out.write_all(line.as_bytes()).await.is_err()
            || out.write_all(b"\n").await.is_err()
            || out.flush().await.is_err()
        {
            break;
        }
    }
}

fn parse_error(detail: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": serde_json::Value::Null,
        "error": {"code": -32700, "message": format!("Parse error: {detail}")},
    })
    .to_string()
}
