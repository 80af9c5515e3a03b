//! One supervised language server: started lazily in its own process group, initialized,
//! watched for readiness, timed out per request, restarted with backoff after a crash or a
//! hang (re-opening its documents), and killed with fathom.
//!
//! States: Starting → Indexing → Ready, Degraded after a failed request until one succeeds,
//! Dead after a crash or hang until the next query restarts it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use super::registry::ServerSpec;
use super::rpc::{Connection, RpcError};
use super::text::{Encoding, path_to_uri};

/// Largest source file opened in a server.
const MAX_DOC_BYTES: u64 = 8 << 20;
/// A server that reports no progress at all counts as ready this long after `initialize`.
const QUIET_FALLBACK: Duration = Duration::from_millis(1500);
/// Kept from a server's stderr for error messages.
const STDERR_TAIL: usize = 2048;
/// Attempts for requests answered with ContentModified / ServerCancelled.
const RETRIES: u32 = 3;

/// Where a server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Starting,
    Indexing,
    Ready,
    Degraded,
    Dead,
}

/// Whether answers can be trusted to be complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Still indexing when the wait ran out; the text says what the server is doing.
    Indexing(String),
}

/// Why a language-server query failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LspError {
    #[error("no {language} language server is installed")]
    NotInstalled { language: String, hint: String },
    #[error("the {language} language server could not start: {reason}")]
    Start { language: String, reason: String },
    #[error("the {language} language server failed: {source}")]
    Rpc { language: String, source: RpcError },
    #[error(
        "the {language} language server failed {failures} times in a row and restarts in {secs} s"
    )]
    Backoff {
        language: String,
        failures: u32,
        secs: u64,
    },
    #[error("cannot open {path}: {reason}")]
    Read { path: String, reason: String },
}

/// Limits from `[lsp]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request_timeout: Duration,
    pub ready_wait: Duration,
    pub max_open: usize,
}

/// An open document as the server sees it.
#[derive(Debug, Clone)]
pub struct Doc {
    pub path: PathBuf,
    pub uri: String,
    pub text: Arc<str>,
    pub encoding: Encoding,
}

#[derive(Debug)]
struct OpenDoc {
    version: i32,
    hash: [u8; 32],
    text: Arc<str>,
    used: u64,
}

#[derive(Debug)]
struct Running {
    conn: Arc<Connection>,
    _child: Child,
    pgid: Option<u32>,
    encoding: Encoding,
    initialized_at: Instant,
    generation: u64,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_group(self.pgid);
    }
}

#[derive(Debug, Default)]
struct Inner {
    running: Option<Running>,
    generation: u64,
    failures: u32,
    retry_at: Option<Instant>,
    degraded: bool,
    docs: HashMap<PathBuf, OpenDoc>,
    tick: u64,
    /// Modification times of files the server was told about, to report changes.
    seen: HashMap<PathBuf, SystemTime>,
}

/// A handle to one language server; cheap to share.
#[derive(Debug)]
pub struct Supervisor {
    spec: ServerSpec,
    root: PathBuf,
    limits: Limits,
    inner: tokio::sync::Mutex<Inner>,
}

impl Supervisor {
    pub fn new(spec: ServerSpec, root: PathBuf, limits: Limits) -> Self {
        Self {
            spec,
            root,
            limits,
            inner: tokio::sync::Mutex::default(),
        }
    }

    pub fn spec(&self) -> &ServerSpec {
        &self.spec
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The server's state now (without starting it).
    pub async fn state(&self) -> State {
        let inner = self.inner.lock().await;
        match &inner.running {
            None => State::Dead,
            Some(r) if r.conn.is_closed() => State::Dead,
            Some(_) if inner.degraded => State::Degraded,
            Some(r) => match ready_now(r) {
                Readiness::Ready => State::Ready,
                Readiness::Indexing(_) => State::Indexing,
            },
        }
    }

    /// Starts the server if it is not running (waiting out a short backoff).
    pub async fn ensure_started(&self) -> Result<(), LspError> {
        let mut inner = self.inner.lock().await;
        self.ensure_running(&mut inner).await.map(|_| ())
    }

    async fn ensure_running<'a>(&self, inner: &'a mut Inner) -> Result<&'a Running, LspError> {
        if inner.running.as_ref().is_some_and(|r| r.conn.is_closed()) {
            // Crashed since last use.
            let tail = inner
                .running
                .as_ref()
                .map(|r| stderr_tail(&r.stderr))
                .unwrap_or_default();
            inner.running = None;
            self.note_failure(inner);
            tracing::warn!(language = %self.spec.language, stderr = %tail, "language server exited; restarting");
        }
        if inner.running.is_none() {
            if let Some(at) = inner.retry_at {
                let wait = at.saturating_duration_since(Instant::now());
                if wait > Duration::from_secs(5) {
                    return Err(LspError::Backoff {
                        language: self.spec.language.clone(),
                        failures: inner.failures,
                        secs: wait.as_secs().max(1),
                    });
                }
                tokio::time::sleep(wait).await;
            }
            inner.generation += 1;
            match self.start(inner.generation).await {
                Ok(running) => {
                    inner.running = Some(running);
                    inner.retry_at = None;
                    self.reopen(inner);
                }
                Err(e) => {
                    self.note_failure(inner);
                    return Err(e);
                }
            }
        }
        inner.running.as_ref().ok_or_else(|| LspError::Start {
            language: self.spec.language.clone(),
            reason: "it stopped while starting".into(),
        })
    }

    fn note_failure(&self, inner: &mut Inner) {
        inner.failures += 1;
        let backoff = Duration::from_millis(250) * 2u32.saturating_pow(inner.failures.min(8) - 1);
        inner.retry_at = Some(Instant::now() + backoff.min(Duration::from_secs(30)));
        inner.degraded = true;
    }

    async fn start(&self, generation: u64) -> Result<Running, LspError> {
        let language = self.spec.language.clone();
        let Some((program, args)) = &self.spec.command else {
            return Err(LspError::NotInstalled {
                language,
                hint: self.spec.install_hint.clone(),
            });
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(|e| LspError::Start {
            language: language.clone(),
            reason: format!("{}: {e}", program.display()),
        })?;
        let pgid = child.id();
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            kill_group(pgid);
            return Err(LspError::Start {
                language,
                reason: "its stdio could not be captured".into(),
            });
        };
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if t.len() > 2 * STDERR_TAIL {
                        let mut cut = t.len() - STDERR_TAIL;
                        while !t.is_char_boundary(cut) {
                            cut += 1;
                        }
                        t.drain(..cut);
                    }
                }
            });
        }
        let root_uri = path_to_uri(&self.root);
        let name = self
            .root
            .file_name()
            .map_or("workspace".into(), |n| n.to_string_lossy().to_string());
        let folders = json!([{"uri": root_uri, "name": name}]);
        let conn = Connection::start(BufReader::new(stdout), stdin, folders.clone());
        let params = json!({
            "processId": std::process::id(),
            "clientInfo": {"name": "fathom", "version": env!("CARGO_PKG_VERSION")},
            "rootUri": root_uri,
            "rootPath": self.root.to_string_lossy(),
            "workspaceFolders": folders,
            "capabilities": {
                "general": {"positionEncodings": ["utf-8", "utf-16"]},
                "window": {"workDoneProgress": true},
                "workspace": {
                    "workspaceFolders": true,
                    "configuration": true,
                    "didChangeWatchedFiles": {"dynamicRegistration": false}
                },
                "textDocument": {
                    "synchronization": {"didSave": false},
                    "documentSymbol": {"hierarchicalDocumentSymbolSupport": true},
                    "definition": {"linkSupport": true},
                    "references": {},
                    "hover": {"contentFormat": ["plaintext", "markdown"]}
                },
                "experimental": {"serverStatusNotification": true}
            }
        });
        let init = conn
            .request("initialize", params, self.limits.request_timeout)
            .await;
        let result = match init {
            Ok(v) => v,
            Err(e) => {
                let tail = stderr_tail(&stderr);
                kill_group(pgid);
                return Err(LspError::Start {
                    language,
                    reason: if tail.is_empty() {
                        e.to_string()
                    } else {
                        format!("{e}; it printed: {tail}")
                    },
                });
            }
        };
        let encoding = Encoding::from_lsp(
            result
                .pointer("/capabilities/positionEncoding")
                .and_then(Value::as_str),
        );
        conn.notify("initialized", json!({}));
        tracing::info!(language = %self.spec.language, program = %program.display(), ?encoding, "language server started");
        Ok(Running {
            conn,
            _child: child,
            pgid,
            encoding,
            initialized_at: Instant::now(),
            generation,
            stderr,
        })
    }

    /// Re-sends `didOpen` for the documents open before a restart.
    fn reopen(&self, inner: &mut Inner) {
        let Some(running) = &inner.running else {
            return;
        };
        for (path, doc) in &inner.docs {
            running.conn.notify(
                "textDocument/didOpen",
                json!({"textDocument": {
                    "uri": path_to_uri(path),
                    "languageId": self.spec.language_id(path),
                    "version": doc.version,
                    "text": &*doc.text,
                }}),
            );
        }
    }

    /// Opens `path` in the server (or refreshes it if it changed on disk) and returns its
    /// text as the server sees it.
    pub async fn open(&self, path: &Path) -> Result<Doc, LspError> {
        let text = read_source(path)?;
        let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let mut inner = self.inner.lock().await;
        let running = self.ensure_running(&mut inner).await?;
        let conn = running.conn.clone();
        let encoding = running.encoding;
        inner.tick += 1;
        let tick = inner.tick;
        let uri = path_to_uri(path);
        let text: Arc<str> = match inner.docs.get_mut(path) {
            Some(doc) if doc.hash == hash => {
                doc.used = tick;
                doc.text.clone()
            }
            Some(doc) => {
                doc.version += 1;
                doc.hash = hash;
                doc.text = text.into();
                doc.used = tick;
                conn.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": doc.version},
                           "contentChanges": [{"text": &*doc.text}]}),
                );
                conn.notify(
                    "workspace/didChangeWatchedFiles",
                    json!({"changes": [{"uri": uri, "type": 2}]}),
                );
                doc.text.clone()
            }
            None => {
                let text: Arc<str> = text.into();
                conn.notify(
                    "textDocument/didOpen",
                    json!({"textDocument": {
                        "uri": uri,
                        "languageId": self.spec.language_id(path),
                        "version": 1,
                        "text": &*text,
                    }}),
                );
                inner.docs.insert(
                    path.to_path_buf(),
                    OpenDoc {
                        version: 1,
                        hash,
                        text: text.clone(),
                        used: tick,
                    },
                );
                while inner.docs.len() > self.limits.max_open {
                    let Some(oldest) = inner
                        .docs
                        .iter()
                        .min_by_key(|(_, d)| d.used)
                        .map(|(p, _)| p.clone())
                    else {
                        break;
                    };
                    inner.docs.remove(&oldest);
                    conn.notify(
                        "textDocument/didClose",
                        json!({"textDocument": {"uri": path_to_uri(&oldest)}}),
                    );
                }
                text
            }
        };
        Ok(Doc {
            path: path.to_path_buf(),
            uri,
            text,
            encoding,
        })
    }

    /// Tells the server about files changed or deleted on disk since it last heard of them,
    /// so answers about files it reads itself stay fresh. `files` are the current mtimes.
    pub async fn notice_files(&self, files: &[(PathBuf, Option<SystemTime>)]) {
        let mut inner = self.inner.lock().await;
        let mut changes = Vec::new();
        for (path, mtime) in files {
            match (inner.seen.get(path), mtime) {
                (Some(old), Some(new)) if old != new => {
                    changes.push(json!({"uri": path_to_uri(path), "type": 2}));
                }
                (Some(_), None) => changes.push(json!({"uri": path_to_uri(path), "type": 3})),
                _ => {}
            }
            match mtime {
                Some(m) => {
                    inner.seen.insert(path.clone(), *m);
                }
                None => {
                    inner.seen.remove(path);
                }
            }
        }
        if !changes.is_empty()
            && let Some(r) = &inner.running
        {
            r.conn.notify(
                "workspace/didChangeWatchedFiles",
                json!({ "changes": changes }),
            );
        }
    }

    /// Sends a request, retrying ContentModified / ServerCancelled; a timeout counts as a
    /// hang: the server is killed and restarts on the next query.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, LspError> {
        let (conn, generation) = {
            let mut inner = self.inner.lock().await;
            let r = self.ensure_running(&mut inner).await?;
            (r.conn.clone(), r.generation)
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match conn
                .request(method, params.clone(), self.limits.request_timeout)
                .await
            {
                Ok(v) => {
                    let mut inner = self.inner.lock().await;
                    inner.degraded = false;
                    inner.failures = 0;
                    return Ok(v);
                }
                Err(e) if e.retryable() && attempt < RETRIES => {
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                }
                Err(e) => {
                    let mut inner = self.inner.lock().await;
                    match e {
                        RpcError::Timeout { .. } => {
                            if inner
                                .running
                                .as_ref()
                                .is_some_and(|r| r.generation == generation)
                            {
                                tracing::warn!(language = %self.spec.language, method, "language server hung; killing it");
                                inner.running = None;
                                self.note_failure(&mut inner);
                            }
                        }
                        RpcError::Closed => {}
                        RpcError::Server { .. } => inner.degraded = true,
                    }
                    return Err(LspError::Rpc {
                        language: self.spec.language.clone(),
                        source: e,
                    });
                }
            }
        }
    }

    /// Waits (at most `limits.ready_wait`) until the server has finished indexing,
    /// calling `progress` with what it reports meanwhile.
    pub async fn wait_ready(&self, progress: &(dyn Fn(String) + Send + Sync)) -> Readiness {
        let deadline = Instant::now() + self.limits.ready_wait;
        let mut last = String::new();
        loop {
            let (mut activity, readiness) = {
                let inner = self.inner.lock().await;
                let Some(r) = &inner.running else {
                    return Readiness::Indexing("not running".into());
                };
                (r.conn.activity(), ready_now(r))
            };
            let Readiness::Indexing(what) = readiness else {
                return Readiness::Ready;
            };
            if what != last {
                progress(format!("{} language server: {what}", self.spec.language));
                last = what.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                return Readiness::Indexing(what);
            }
            let step = (deadline - now).min(Duration::from_millis(250));
            let _ = tokio::time::timeout(step, activity.changed()).await;
        }
    }

    /// Asks the server to exit, then kills its process group.
    pub async fn shutdown(&self) {
        let mut inner = self.inner.lock().await;
        if let Some(r) = inner.running.take() {
            let _ = r
                .conn
                .request("shutdown", Value::Null, Duration::from_millis(500))
                .await;
            r.conn.notify("exit", Value::Null);
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(r);
        }
    }

    /// The process group id of the running server (tests and diagnostics).
    pub async fn pid(&self) -> Option<u32> {
        self.inner
            .lock()
            .await
            .running
            .as_ref()
            .and_then(|r| r.pgid)
    }
}

fn ready_now(r: &Running) -> Readiness {
    let a = r.conn.activity().borrow().clone();
    if let Some(title) = a.titles.values().next() {
        return Readiness::Indexing(title.clone());
    }
    if !a.active.is_empty() {
        return Readiness::Indexing("indexing".into());
    }
    if a.quiescent == Some(false) {
        return Readiness::Indexing("indexing".into());
    }
    if !a.reported && r.initialized_at.elapsed() < QUIET_FALLBACK {
        return Readiness::Indexing("starting".into());
    }
    Readiness::Ready
}

fn read_source(path: &Path) -> Result<String, LspError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| LspError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if meta.len() > MAX_DOC_BYTES {
        return Err(LspError::Read {
            path: shown,
            reason: format!(
                "{} bytes is over the {MAX_DOC_BYTES}-byte limit for language-server queries",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| LspError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| LspError::Read {
        path: shown,
        reason: "not UTF-8 text".into(),
    })
}

fn stderr_tail(buf: &std::sync::Mutex<String>) -> String {
    let t = buf.lock().unwrap_or_else(|p| p.into_inner());
    let t = t.trim();
    let start = t.len().saturating_sub(400);
    let mut start = start;
    while !t.is_char_boundary(start) {
        start += 1;
    }
    t[start..].replace('\n', " ")
}

fn kill_group(pgid: Option<u32>) {
    crate::exec::kill_group_now(pgid);
}
