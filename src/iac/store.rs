//! Loading stack state with a cache keyed by path, size and modification time, so repeated
//! questions about a large state cost one parse, and a changed file is re-read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::discovery::{self, StackRef, StateSource};
use super::graph::Graph;
use super::model::Snapshot;
use super::read::{self, StateError};
use crate::config::{StackConfig, StateConfig};
use crate::exec;

/// A parsed state with its dependency graph.
#[derive(Debug)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub graph: Graph,
    /// Size of the document read.
    pub bytes: u64,
}

/// Why a stack's state could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("stack `{id}` has no readable state: {why}")]
    Missing { id: String, why: String },
    #[error("state file {path} is outside the workspace")]
    Outside { path: String },
    #[error("`{command}` failed: {detail}")]
    Cli { command: String, detail: String },
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
}

struct Entry {
    size: u64,
    modified: Option<SystemTime>,
    loaded: Arc<Loaded>,
}

/// Discovers stacks and loads their state, caching parsed files.
pub struct StateStore {
    root: PathBuf,
    limits: StateConfig,
    configured: Vec<StackConfig>,
    cache: Mutex<HashMap<PathBuf, Entry>>,
    /// The last discovery and when it ran: a walk per call would dominate warm answers.
    discovered: Mutex<Option<(std::time::Instant, Vec<StackRef>)>>,
}

/// How long a discovery result is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(2);

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("root", &self.root)
            .finish()
    }
}

impl StateStore {
    pub fn new(root: &Path, limits: StateConfig, configured: Vec<StackConfig>) -> Self {
        Self {
            root: root.to_path_buf(),
            limits,
            configured,
            cache: Mutex::new(HashMap::new()),
            discovered: Mutex::new(None),
        }
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All stacks. The walk (which skips dependency and build folders) is reused for
    /// [`DISCOVERY_TTL`], so a burst of calls walks once and a new stack shows up within seconds.
    pub fn stacks(&self) -> Vec<StackRef> {
        if let Ok(guard) = self.discovered.lock()
            && let Some((at, stacks)) = guard.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return stacks.clone();
        }
        let stacks = discovery::discover(&self.root, &self.configured);
        if let Ok(mut guard) = self.discovered.lock() {
            *guard = Some((std::time::Instant::now(), stacks.clone()));
        }
        stacks
    }

    /// Path shown to users: relative to the workspace.
    pub fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// Loads a stack's current state.
    pub async fn load(
        &self,
        stack: &StackRef,
        cancel: &CancellationToken,
    ) -> Result<Arc<Loaded>, LoadError> {
        match &stack.source {
            StateSource::File(path) => self.load_file(path).await,
            StateSource::Missing { why } => Err(LoadError::Missing {
                id: stack.id.clone(),
                why: why.clone(),
            }),
            StateSource::Cli { dir, argv } => self.load_cli(dir, argv, cancel).await,
        }
    }

    /// Loads a state file inside the workspace, from the cache when unchanged.
    pub async fn load_file(&self, path: &Path) -> Result<Arc<Loaded>, LoadError> {
        let display = self.display(path);
        let canonical = path.canonicalize().map_err(|source| StateError::Io {
            path: display.clone(),
            source,
        })?;
        if !canonical.starts_with(&self.root) {
            return Err(LoadError::Outside { path: display });
        }
        let meta = std::fs::metadata(&canonical).map_err(|source| StateError::Io {
            path: display.clone(),
            source,
        })?;
        let (size, modified) = (meta.len(), meta.modified().ok());
        if let Ok(cache) = self.cache.lock()
            && let Some(e) = cache.get(&canonical)
            && e.size == size
            && e.modified == modified
        {
            return Ok(e.loaded.clone());
        }
        let limit = self.limits.max_bytes;
        let file = canonical.clone();
        let shown = display.clone();
        let parsed = tokio::task::spawn_blocking(move || read::read_file(&file, &shown, limit))
            .await
            .map_err(|e| StateError::Corrupt {
                path: display.clone(),
                detail: format!("reader stopped: {e}"),
            })??;
        let graph = Graph::build(&parsed);
        let loaded = Arc::new(Loaded {
            snapshot: parsed,
            graph,
            bytes: size,
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                canonical,
                Entry {
                    size,
                    modified,
                    loaded: loaded.clone(),
                },
            );
        }
        Ok(loaded)
    }

    async fn load_cli(
        &self,
        dir: &Path,
        argv: &[String],
        cancel: &CancellationToken,
    ) -> Result<Arc<Loaded>, LoadError> {
        let command = argv.join(" ");
        let out = exec::run(
            &exec::Spec {
                argv,
                cwd: dir,
                env: &[],
                timeout: Duration::from_secs(self.limits.cli_timeout_secs),
                max_output: usize::try_from(self.limits.max_bytes).unwrap_or(usize::MAX),
                clear_env: false,
                interrupt_grace: None,
            },
            cancel,
        )
        .await?;
        if out.timed_out {
            return Err(LoadError::Cli {
                command,
                detail: format!(
                    "no answer within {} s (state.cli_timeout_secs)",
                    self.limits.cli_timeout_secs
                ),
            });
        }
        if out.cancelled {
            return Err(LoadError::Cli {
                command,
                detail: "cancelled".into(),
            });
        }
        if !out.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no error output");
            return Err(LoadError::Cli {
                command,
                detail: format!("exit {:?}: {}", out.code, crate::render::clip(last, 300)),
            });
        }
        if out.truncated {
            return Err(StateError::TooLarge {
                path: command,
                size: out.stdout.len() as u64,
                limit: self.limits.max_bytes,
            }
            .into());
        }
        let bytes = out.stdout.len() as u64;
        let limit = self.limits.max_bytes;
        let parsed = tokio::task::spawn_blocking(move || read::parse(out.stdout, &command, limit))
            .await
            .map_err(|e| StateError::Corrupt {
                path: "cli output".into(),
                detail: e.to_string(),
            })??;
        let graph = Graph::build(&parsed);
        Ok(Arc::new(Loaded {
            snapshot: parsed,
            graph,
            bytes,
        }))
    }
}
