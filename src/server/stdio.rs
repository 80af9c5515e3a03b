//! Stdio transport: newline-delimited JSON-RPC on stdin/stdout for local clients (Claude Code,
//! Cursor, agent harnesses). Logs go to stderr only; stdout carries protocol messages alone.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::{App, FathomServer};

/// Serves one client until it closes stdin.
pub async fn serve(app: Arc<App>) -> anyhow::Result<()> {
    let server = FathomServer::new(app);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("stdio session failed to start: {e}"))?;
    running.waiting().await?;
    Ok(())
}
