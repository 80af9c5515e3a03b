//! Human approvals of exact commands, kept as files so that a person in another terminal
//! (`fathom approve ID`) can grant what a running server asked for.
//!
//! A request lives in `pending/ID.json`; approving, denying and using it are renames into
//! `approved/`, `denied/` and `used/`. A rename is atomic, so an approval is used at most once
//! even when two calls race, and no tool can approve anything: only `approve`/`deny` (the
//! terminal commands) and an accepted elicitation move a request out of `pending/`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One approval request: bound to an integration and the exact argv.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub integration: String,
    /// The agent's arguments (after the program name), exactly as they will run.
    pub args: Vec<String>,
    /// `read`, `write` or `secret_read`.
    pub class: String,
    /// Why the classifier called it that.
    pub why: String,
    /// The pins in force, for the person deciding.
    pub scope: Vec<String>,
    /// Who asked (token subject or `stdio`).
    pub requested_by: String,
    /// Seconds since the Unix epoch.
    pub requested_at: u64,
    pub expires_at: u64,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Approved,
    Denied,
    Used,
}

impl State {
    fn dir(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Denied => "denied",
            State::Used => "used",
        }
    }

    const ALL: [State; 4] = [State::Pending, State::Approved, State::Denied, State::Used];
}

/// Why an approval cannot be used or changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    #[error("no approval request `{0}`")]
    Unknown(String),
    #[error("approval `{0}` has not been approved yet")]
    NotApproved(String),
    #[error("approval `{0}` was denied")]
    Denied(String),
    #[error("approval `{0}` was already used; approvals are single use")]
    Used(String),
    #[error("approval `{0}` already approved")]
    AlreadyApproved(String),
    #[error("approval `{0}` expired")]
    Expired(String),
    #[error("approval `{id}` was granted for `{granted}`, not this call")]
    Mismatch { id: String, granted: String },
    #[error("approval id `{0}` is malformed")]
    Malformed(String),
    #[error("approval store: {0}")]
    Io(String),
}

/// The approval records of one workspace.
#[derive(Debug, Clone)]
pub struct ApprovalStore {
    dir: PathBuf,
    ttl: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn io(e: std::io::Error) -> ApprovalError {
    ApprovalError::Io(e.to_string())
}

impl ApprovalStore {
    pub fn new(dir: impl Into<PathBuf>, ttl: Duration) -> Self {
        Self {
            dir: dir.into(),
            ttl,
        }
    }

    fn path(&self, state: State, id: &str) -> PathBuf {
        self.dir.join(state.dir()).join(format!("{id}.json"))
    }

    /// Records a pending request for `args` on `integration` and returns it.
    pub fn request(
        &self,
        integration: &str,
        args: &[String],
        class: &str,
        why: &str,
        scope: Vec<String>,
        requested_by: &str,
    ) -> Result<Request, ApprovalError> {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut h = Sha256::new();
        h.update(nanos.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        h.update(integration.as_bytes());
        for a in args {
            h.update(a.as_bytes());
            h.update([0]);
        }
        let id = hex::encode(&h.finalize()[..5]);
        let t = now();
        let req = Request {
            id,
            integration: integration.to_string(),
            args: args.to_vec(),
            class: class.to_string(),
            why: why.to_string(),
            scope,
            requested_by: requested_by.to_string(),
            requested_at: t,
            expires_at: t + self.ttl.as_secs(),
        };
        for s in State::ALL {
            std::fs::create_dir_all(self.dir.join(s.dir())).map_err(io)?;
        }
        let text = serde_json::to_vec_pretty(&req).map_err(|e| ApprovalError::Io(e.to_string()))?;
        let tmp = self.dir.join(format!(".{}.tmp", req.id));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, self.path(State::Pending, &req.id)).map_err(io)?;
        Ok(req)
    }

    /// Finds a request and its state.
    pub fn get(&self, id: &str) -> Result<(Request, State), ApprovalError> {
        check_id(id)?;
        for s in State::ALL {
            match std::fs::read(self.path(s, id)) {
                Ok(bytes) => {
                    let req: Request = serde_json::from_slice(&bytes)
                        .map_err(|e| ApprovalError::Io(format!("record {id}: {e}")))?;
                    return Ok((req, s));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Err(ApprovalError::Unknown(id.to_string()))
    }

    /// Pending requests, oldest first (for `fathom approve` without an id).
    pub fn pending(&self) -> Vec<Request> {
        let mut out: Vec<Request> = std::fs::read_dir(self.dir.join(State::Pending.dir()))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by_key(|r: &Request| r.requested_at);
        out
    }

    /// A person grants a pending request.
    pub fn approve(&self, id: &str) -> Result<Request, ApprovalError> {
        self.decide(id, State::Approved)
    }

    /// A person (or a declined elicitation) refuses a pending request.
    pub fn deny(&self, id: &str) -> Result<Request, ApprovalError> {
        self.decide(id, State::Denied)
    }

    fn decide(&self, id: &str, to: State) -> Result<Request, ApprovalError> {
        let (req, state) = self.get(id)?;
        match state {
            State::Pending => {}
            State::Approved => return Err(ApprovalError::AlreadyApproved(id.into())),
            State::Denied => return Err(ApprovalError::Denied(id.into())),
            State::Used => return Err(ApprovalError::Used(id.into())),
        }
        if to == State::Approved && now() > req.expires_at {
            return Err(ApprovalError::Expired(id.into()));
        }
        std::fs::rename(self.path(State::Pending, id), self.path(to, id)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                // Someone else decided in between.
                ApprovalError::NotApproved(id.into())
            } else {
                io(e)
            }
        })?;
        Ok(req)
    }

    /// Uses an approved request for exactly this integration and argv; single use.
    pub fn consume(
        &self,
        id: &str,
        integration: &str,
        args: &[String],
    ) -> Result<Request, ApprovalError> {
        let (req, state) = self.get(id)?;
        match state {
            State::Approved => {}
            State::Pending => return Err(ApprovalError::NotApproved(id.into())),
            State::Denied => return Err(ApprovalError::Denied(id.into())),
            State::Used => return Err(ApprovalError::Used(id.into())),
        }
        if req.integration != integration || req.args != args {
            return Err(ApprovalError::Mismatch {
                id: id.into(),
                granted: format!("{} {}", req.integration, req.args.join(" ")),
            });
        }
        if now() > req.expires_at {
            return Err(ApprovalError::Expired(id.into()));
        }
        std::fs::rename(self.path(State::Approved, id), self.path(State::Used, id)).map_err(
            |e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    ApprovalError::Used(id.into())
                } else {
                    io(e)
                }
            },
        )?;
        Ok(req)
    }

    /// The folder holding the records (for messages).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Ids are 10 lower-case hex digits; anything else could name a path.
fn check_id(id: &str) -> Result<(), ApprovalError> {
    if id.len() == 10
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(ApprovalError::Malformed(crate::render::clip(id, 40)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(tag: &str, ttl: u64) -> ApprovalStore {
        let dir =
            std::env::temp_dir().join(format!("fathom-approvals-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        ApprovalStore::new(dir, Duration::from_secs(ttl))
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn lifecycle_is_single_use_and_bound_to_argv() {
        let s = store("life", 600);
        let a = args("s3api create-bucket --bucket b");
        let r = s.request("rw", &a, "write", "w", vec![], "stdio").unwrap();
        assert_eq!(
            s.consume(&r.id, "rw", &a),
            Err(ApprovalError::NotApproved(r.id.clone()))
        );
        assert_eq!(s.pending().len(), 1);
        s.approve(&r.id).unwrap();
        assert!(matches!(
            s.approve(&r.id),
            Err(ApprovalError::AlreadyApproved(_))
        ));
        assert!(matches!(
            s.consume(&r.id, "rw", &args("s3api delete-bucket --bucket b")),
            Err(ApprovalError::Mismatch { .. })
        ));
        assert!(matches!(
            s.consume(&r.id, "other", &a),
            Err(ApprovalError::Mismatch { .. })
        ));
        s.consume(&r.id, "rw", &a).unwrap();
        assert_eq!(
            s.consume(&r.id, "rw", &a),
            Err(ApprovalError::Used(r.id.clone()))
        );
        let d = s.request("rw", &a, "write", "w", vec![], "stdio").unwrap();
        s.deny(&d.id).unwrap();
        assert_eq!(
            s.consume(&d.id, "rw", &a),
            Err(ApprovalError::Denied(d.id.clone()))
        );
        assert!(matches!(
            s.get("../../etc"),
            Err(ApprovalError::Malformed(_))
        ));
        assert!(matches!(
            s.get("0123456789"),
            Err(ApprovalError::Unknown(_))
        ));
        std::fs::remove_dir_all(s.dir()).ok();
    }

    #[test]
    fn expired_requests_cannot_be_approved_or_used() {
        let s = store("exp", 0);
        let a = args("s3api create-bucket --bucket b");
        let r = s.request("rw", &a, "write", "w", vec![], "stdio").unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(s.approve(&r.id), Err(ApprovalError::Expired(r.id.clone())));
        std::fs::remove_dir_all(s.dir()).ok();
    }
}
