//! JSON-RPC over a language server's stdio with LSP's `Content-Length` framing.
//!
//! One writer task owns the server's stdin (so a dropped request can still send
//! `$/cancelRequest` without awaiting), one reader task routes responses to waiting requests,
//! answers the few server-to-client requests servers block on, and records progress so the
//! supervisor can tell indexing from ready.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

/// Largest message accepted from a server; a bigger one means the stream is broken.
const MAX_MESSAGE: usize = 64 << 20;

/// LSP error codes that mean "ask again".
pub const CONTENT_MODIFIED: i64 = -32801;
pub const SERVER_CANCELLED: i64 = -32802;

/// Why a request produced no result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    #[error("the language server did not answer `{method}` within {secs} s")]
    Timeout { method: String, secs: u64 },
    #[error("the language server exited")]
    Closed,
    #[error("the language server answered `{method}` with error {code}: {message}")]
    Server {
        method: String,
        code: i64,
        message: String,
    },
}

impl RpcError {
    /// Errors after which the same request may succeed when sent again.
    pub fn retryable(&self) -> bool {
        matches!(self, RpcError::Server { code, .. } if *code == CONTENT_MODIFIED || *code == SERVER_CANCELLED)
    }
}

/// What the server has said about its own work, for readiness tracking.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// `$/progress` tokens that began and have not ended.
    pub active: HashSet<String>,
    /// Titles of the active tokens, for "indexing: …" messages.
    pub titles: HashMap<String, String>,
    /// Progress ever began (the server reports its work).
    pub reported: bool,
    /// rust-analyzer's `experimental/serverStatus` `quiescent`, when sent.
    pub quiescent: Option<bool>,
    /// Last time the server sent anything.
    pub last_message: Option<Instant>,
    /// Set once the reader saw end of stream.
    pub closed: bool,
}

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Result<Value, RpcError>>>>>;

/// A live JSON-RPC connection to one language server process.
#[derive(Debug)]
pub struct Connection {
    out: mpsc::UnboundedSender<Value>,
    pending: Pending,
    next_id: AtomicI64,
    activity: watch::Receiver<Activity>,
}

impl Connection {
    /// Starts the reader and writer tasks over the server's stdout and stdin.
    /// `folders` answers `workspace/workspaceFolders`.
    pub fn start<R, W>(reader: R, writer: W, folders: Value) -> Arc<Self>
    where
        R: AsyncBufRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out, out_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        let (activity_tx, activity) = watch::channel(Activity::default());
        tokio::spawn(write_loop(writer, out_rx));
        tokio::spawn(read_loop(
            reader,
            out.clone(),
            pending.clone(),
            activity_tx,
            folders,
        ));
        Arc::new(Self {
            out,
            pending,
            next_id: AtomicI64::new(1),
            activity,
        })
    }

    /// Sends a notification (fire and forget).
    pub fn notify(&self, method: &str, params: Value) {
        let _ = self
            .out
            .send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its result at most `timeout`. On timeout, or if the
    /// caller stops waiting, the server is told with `$/cancelRequest`.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        if self.activity.borrow().closed {
            return Err(RpcError::Closed);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        let _guard = CancelOnDrop { conn: self, id };
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.out.send(msg).is_err() {
            return Err(RpcError::Closed);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(RpcError::Server { code, message, .. }))) => Err(RpcError::Server {
                method: method.to_string(),
                code,
                message,
            }),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(RpcError::Closed),
            Err(_) => Err(RpcError::Timeout {
                method: method.to_string(),
                secs: timeout.as_secs().max(1),
            }),
        }
    }

    /// The server's reported activity, updated as messages arrive.
    pub fn activity(&self) -> watch::Receiver<Activity> {
        self.activity.clone()
    }

    /// True once the server's stdout has closed.
    pub fn is_closed(&self) -> bool {
        self.activity.borrow().closed
    }
}

/// Cancels a request still unanswered when its caller stops waiting (timeout or drop).
struct CancelOnDrop<'a> {
    conn: &'a Connection,
    id: i64,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if lock(&self.conn.pending).remove(&self.id).is_some() {
            self.conn.notify("$/cancelRequest", json!({"id": self.id}));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn write_loop<W: AsyncWrite + Unpin>(mut writer: W, mut rx: mpsc::UnboundedReceiver<Value>) {
    while let Some(msg) = rx.recv().await {
        let body = msg.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        if writer.write_all(frame.as_bytes()).await.is_err() || writer.flush().await.is_err() {
            break;
        }
    }
}

/// Reads one framed message; `Ok(None)` at end of stream.
pub async fn read_message<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut length: Option<usize> = None;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            return Ok(None);
        }
        if line.len() > 1024 {
            return Err(std::io::Error::other("header line too long"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let len = length.unwrap_or(0);
    if len > MAX_MESSAGE {
        return Err(std::io::Error::other(format!(
            "message of {len} bytes is over the {MAX_MESSAGE}-byte limit"
        )));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

async fn read_loop<R: AsyncBufRead + Unpin>(
    mut reader: R,
    out: mpsc::UnboundedSender<Value>,
    pending: Pending,
    activity: watch::Sender<Activity>,
    folders: Value,
) {
    while let Ok(Some(body)) = read_message(&mut reader).await {
        let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
            continue;
        };
        activity.send_modify(|a| a.last_message = Some(Instant::now()));
        let method = msg.get("method").and_then(Value::as_str);
        match (method, msg.get("id")) {
            (None, Some(id)) => {
                let Some(id) = id.as_i64() else { continue };
                let Some(tx) = lock(&pending).remove(&id) else {
                    continue;
                };
                let result = match msg.get("error") {
                    Some(err) => Err(RpcError::Server {
                        method: String::new(),
                        code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                        message: err
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .chars()
                            .take(300)
                            .collect(),
                    }),
                    None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
                };
                let _ = tx.send(result);
            }
            (Some(method), Some(id)) => {
                let reply = answer_server_request(method, msg.get("params"), &folders);
                let mut response = json!({"jsonrpc": "2.0", "id": id});
                match reply {
                    Ok(v) => response["result"] = v,
                    Err(message) => response["error"] = json!({"code": -32601, "message": message}),
                }
                let _ = out.send(response);
            }
            (Some(method), None) => {
                note_notification(method, msg.get("params"), &activity);
            }
            (None, None) => {}
        }
    }
    activity.send_modify(|a| {
        a.closed = true;
        a.active.clear();
    });
    for (_, tx) in lock(&pending).drain() {
        let _ = tx.send(Err(RpcError::Closed));
    }
}

/// Answers what servers ask of their client. Unknown methods get "method not found".
fn answer_server_request(
    method: &str,
    params: Option<&Value>,
    folders: &Value,
) -> Result<Value, String> {
    match method {
        "workspace/configuration" => {
            let n = params
                .and_then(|p| p.get("items"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            Ok(Value::Array(vec![Value::Null; n]))
        }
        "workspace/workspaceFolders" => Ok(folders.clone()),
        "window/workDoneProgress/create"
        | "client/registerCapability"
        | "client/unregisterCapability"
        | "window/showMessageRequest"
        | "workspace/semanticTokens/refresh"
        | "workspace/inlayHint/refresh"
        | "workspace/codeLens/refresh"
        | "workspace/diagnostic/refresh" => Ok(Value::Null),
        other => Err(format!("fathom does not implement `{other}`")),
    }
}

fn note_notification(method: &str, params: Option<&Value>, activity: &watch::Sender<Activity>) {
    match method {
        "$/progress" => {
            let Some(p) = params else { return };
            let token = match p.get("token") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return,
            };
            let value = p.get("value");
            let kind = value.and_then(|v| v.get("kind")).and_then(Value::as_str);
            activity.send_modify(|a| match kind {
                Some("begin") => {
                    a.reported = true;
                    let title = value
                        .and_then(|v| v.get("title"))
                        .and_then(Value::as_str)
                        .unwrap_or("working");
                    a.titles.insert(token.clone(), title.to_string());
                    a.active.insert(token);
                }
                Some("end") => {
                    a.active.remove(&token);
                    a.titles.remove(&token);
                }
                _ => {}
            });
        }
        "experimental/serverStatus" => {
            let quiescent = params
                .and_then(|p| p.get("quiescent"))
                .and_then(Value::as_bool);
            activity.send_modify(|a| {
                a.quiescent = quiescent;
                a.reported = true;
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    #[tokio::test]
    async fn frames_round_trip_and_errors_route_to_their_request() {
        // A fake server: answers id 1 with a result, id 2 with ContentModified, and sends a
        // progress begin before either.
        let (client_side, server_side) = tokio::io::duplex(1 << 16);
        let (c_read, c_write) = tokio::io::split(client_side);
        let (s_read, mut s_write) = tokio::io::split(server_side);
        let conn = Connection::start(BufReader::new(c_read), c_write, json!([]));
        let server = tokio::spawn(async move {
            let mut s_read = BufReader::new(s_read);
            let send = |v: Value| {
                let b = v.to_string();
                format!("Content-Length: {}\r\n\r\n{b}", b.len())
            };
            s_write
                .write_all(
                    send(json!({"jsonrpc":"2.0","method":"$/progress","params":{"token":"t","value":{"kind":"begin","title":"Indexing"}}}))
                        .as_bytes(),
                )
                .await
                .unwrap();
            for _ in 0..2 {
                let body = read_message(&mut s_read).await.unwrap().unwrap();
                let req: Value = serde_json::from_slice(&body).unwrap();
                let reply = if req["id"] == 1 {
                    json!({"jsonrpc":"2.0","id":1,"result":{"ok":"ü"}})
                } else {
                    json!({"jsonrpc":"2.0","id":req["id"],"error":{"code":-32801,"message":"modified"}})
                };
                s_write.write_all(send(reply).as_bytes()).await.unwrap();
            }
        });
        let t = Duration::from_secs(5);
        let ok = conn.request("a", json!({}), t).await.unwrap();
        assert_eq!(ok["ok"], "ü");
        // The progress was sent before the answer, so it is recorded by now.
        let a = conn.activity().borrow().clone();
        assert!(a.reported && a.active.contains("t"), "{a:?}");
        let err = conn.request("b", json!({}), t).await.unwrap_err();
        assert!(err.retryable(), "{err}");
        assert!(err.to_string().contains("`b`"), "{err}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_gets_a_cancel() {
        let (client_side, server_side) = tokio::io::duplex(1 << 16);
        let (c_read, c_write) = tokio::io::split(client_side);
        let (s_read, _s_write) = tokio::io::split(server_side);
        let conn = Connection::start(BufReader::new(c_read), c_write, json!([]));
        let err = conn
            .request("slow", json!({}), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(err, RpcError::Timeout { .. }), "{err}");
        let mut s_read = BufReader::new(s_read);
        let first: Value =
            serde_json::from_slice(&read_message(&mut s_read).await.unwrap().unwrap()).unwrap();
        let second: Value =
            serde_json::from_slice(&read_message(&mut s_read).await.unwrap().unwrap()).unwrap();
        assert_eq!(first["method"], "slow");
        assert_eq!(second["method"], "$/cancelRequest");
        assert_eq!(second["params"]["id"], first["id"]);
    }
}
