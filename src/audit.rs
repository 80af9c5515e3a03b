//! The audit log: one JSON line per event, hash-chained (SHA-256) so that editing, deleting
//! or reordering a record shows up in `fathom audit verify`.
//!
//! Every tool call writes an `intent` record *before* it does anything and an `outcome`
//! record after. If the intent cannot be written the call is refused: an unaudited action is
//! worse than no action. Arguments and errors are redacted before they reach this module.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// `prev` of the first record in a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Failures of the audit log itself.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "audit log {path}: last record is not valid JSON ({detail}); run `fathom audit verify`"
    )]
    CorruptTail { path: PathBuf, detail: String },
}

/// Where records go.
enum Sink {
    File { path: PathBuf, file: File },
    Stderr,
}

struct State {
    sink: Sink,
    next_seq: u64,
    last_hash: String,
    /// File length after our last write; a different length means another process wrote.
    known_len: u64,
}

/// An append-only, hash-chained JSON-lines log shared by all connections of one process
/// (and safe across processes writing the same file, through an advisory lock).
pub struct AuditLog {
    state: Mutex<State>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// One event to record; `seq`, `ts`, `prev` and `hash` are added by the log.
pub struct Event<'a> {
    pub kind: &'a str,
    pub fields: Map<String, Value>,
}

impl AuditLog {
    /// Opens (creating parents) the log file, continuing the chain of the records already in it.
    pub fn open_file(path: &Path) -> Result<Self, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let (next_seq, last_hash) = read_tail(&mut file, path)?;
        let known_len = file.metadata().map_err(io)?.len();
        Ok(Self {
            state: Mutex::new(State {
                sink: Sink::File {
                    path: path.to_path_buf(),
                    file,
                },
                next_seq,
                last_hash,
                known_len,
            }),
        })
    }

    /// Writes records to standard error (for containers that collect stderr).
    pub fn stderr() -> Self {
        Self {
            state: Mutex::new(State {
                sink: Sink::Stderr,
                next_seq: 0,
                last_hash: GENESIS.to_string(),
                known_len: 0,
            }),
        }
    }

    /// Appends one record and returns its hash. The record is on disk (flushed to the OS)
    /// when this returns.
    pub fn append(&self, event: Event<'_>) -> Result<String, AuditError> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = &mut *guard;
        let ts = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        match &mut state.sink {
            Sink::Stderr => {
                let line = seal(state.next_seq, &ts, event, &state.last_hash);
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}", line.text);
                state.next_seq += 1;
                state.last_hash = line.hash.clone();
                Ok(line.hash)
            }
            Sink::File { path, file } => {
                let io = |source| AuditError::Io {
                    path: path.clone(),
                    source,
                };
                file.lock().map_err(io)?;
                let result = (|| {
                    let len = file.metadata().map_err(io)?.len();
                    if len != state.known_len {
                        let (seq, hash) = read_tail(file, path)?;
                        state.next_seq = seq;
                        state.last_hash = hash;
                    }
                    let line = seal(state.next_seq, &ts, event, &state.last_hash);
                    file.write_all(format!("{}\n", line.text).as_bytes())
                        .map_err(io)?;
                    file.flush().map_err(io)?;
                    state.known_len = file.metadata().map_err(io)?.len();
                    state.next_seq += 1;
                    state.last_hash = line.hash.clone();
                    Ok(line.hash)
                })();
                let _ = file.unlock();
                result
            }
        }
    }
}

struct Sealed {
    text: String,
    hash: String,
}

/// Builds the record text: fields in key order (serde_json's map is sorted) and `hash`, the
/// SHA-256 of the exact bytes before it, appended last. Verification re-hashes those bytes
/// rather than re-serialising, so number formatting can never break the chain.
fn seal(seq: u64, ts: &str, event: Event<'_>, prev: &str) -> Sealed {
    let mut record = event.fields;
    record.remove("hash");
    record.insert("seq".into(), json!(seq));
    record.insert("ts".into(), json!(ts));
    record.insert("kind".into(), json!(event.kind));
    record.insert("prev".into(), json!(prev));
    let body = Value::Object(record).to_string();
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    Sealed {
        text: attach_hash(&body, &hash),
        hash,
    }
}

/// `{"a":1}` + hash → `{"a":1,"hash":"…"}`.
fn attach_hash(body: &str, hash: &str) -> String {
    let open = body.strip_suffix('}').unwrap_or(body);
    format!("{open},\"hash\":\"{hash}\"}}")
}

/// Splits a line into the hashed body and the claimed hash, if it has the sealed shape.
fn detach_hash(line: &str) -> Option<(String, &str)> {
    let (open, tail) = line.trim_end().rsplit_once(",\"hash\":\"")?;
    let hash = tail.strip_suffix("\"}")?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((format!("{open}}}"), hash))
}

/// Reads the last record of an existing log to continue its chain.
fn read_tail(file: &mut File, path: &Path) -> Result<(u64, String), AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_string()));
    }
    let window = len.min(256 * 1024);
    file.seek(SeekFrom::Start(len - window)).map_err(io)?;
    let mut buf = Vec::with_capacity(window as usize);
    file.take(window).read_to_end(&mut buf).map_err(io)?;
    let text = String::from_utf8_lossy(&buf);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let corrupt = |detail: String| AuditError::CorruptTail {
        path: path.to_path_buf(),
        detail,
    };
    let value: Value = serde_json::from_str(last).map_err(|e| corrupt(e.to_string()))?;
    let seq = value
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| corrupt("no `seq`".into()))?;
    let hash = value
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| corrupt("no `hash`".into()))?;
    Ok((seq + 1, hash.to_string()))
}

/// Result of checking a log's chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every record links to the one before and hashes to what it claims.
    Intact { records: u64 },
    /// The first record that does not fit, with the 1-based line number and why.
    Broken { line: usize, reason: String },
}

/// Checks the chain of a log file.
pub fn verify(path: &Path) -> Result<Verdict, AuditError> {
    let file = File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq: Option<u64> = None;
    let mut count = 0u64;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let broken = |reason: String| {
            Ok(Verdict::Broken {
                line: line_no,
                reason,
            })
        };
        let Some((body, claimed)) = detach_hash(&line) else {
            return broken("no `hash` at the end of the record".into());
        };
        let Ok(Value::Object(record)) = serde_json::from_str::<Value>(&body) else {
            return broken("not a JSON object".into());
        };
        let seq = record.get("seq").and_then(Value::as_u64);
        let Some(seq) = seq else {
            return broken("no `seq` field".into());
        };
        match expected_seq {
            None if seq != 0 => {
                return broken(format!(
                    "first record has seq {seq}, expected 0: records before it were removed"
                ));
            }
            Some(want) if seq != want => {
                return broken(format!(
                    "seq {seq} where {want} was expected: a record was removed or moved"
                ));
            }
            _ => {}
        }
        let record_prev = record.get("prev").and_then(Value::as_str).unwrap_or("");
        if record_prev != prev {
            return broken(format!(
                "`prev` does not match the hash of the record before (seq {seq}): the chain was cut or reordered"
            ));
        }
        let actual = hex::encode(Sha256::digest(body.as_bytes()));
        if actual != claimed {
            return broken(format!(
                "record seq {seq} was modified: its hash does not match its content"
            ));
        }
        prev = claimed.to_string();
        expected_seq = Some(seq + 1);
        count += 1;
    }
    Ok(Verdict::Intact { records: count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, n: u64) -> Event<'_> {
        let mut fields = Map::new();
        fields.insert("tool".into(), json!("code_search"));
        fields.insert("n".into(), json!(n));
        // A float that does not survive a parse/print round trip in serde_json's default mode.
        fields.insert("ms".into(), json!(0.193_165_999_999_999_98_f64));
        Event { kind, fields }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fathom-audit-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir.join("audit.jsonl")
    }

    #[test]
    fn chain_continues_across_reopen_and_verifies() {
        let path = temp("reopen");
        {
            let log = AuditLog::open_file(&path).unwrap();
            log.append(ev("intent", 1)).unwrap();
            log.append(ev("outcome", 1)).unwrap();
        }
        let log = AuditLog::open_file(&path).unwrap();
        log.append(ev("intent", 2)).unwrap();
        assert_eq!(verify(&path).unwrap(), Verdict::Intact { records: 3 });
    }

    #[test]
    fn tampering_is_detected() {
        let path = temp("tamper");
        let log = AuditLog::open_file(&path).unwrap();
        for n in 0..4 {
            log.append(ev("intent", n)).unwrap();
        }
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        // Edit a value.
        std::fs::write(&path, original.replacen("\"n\":2", "\"n\":9", 1)).unwrap();
        assert!(matches!(
            verify(&path).unwrap(),
            Verdict::Broken { line: 3, .. }
        ));

        // Delete a record in the middle.
        let mut v = lines.clone();
        v.remove(1);
        std::fs::write(&path, v.join("\n") + "\n").unwrap();
        assert!(matches!(
            verify(&path).unwrap(),
            Verdict::Broken { line: 2, .. }
        ));

        // Swap two records.
        let mut v = lines.clone();
        v.swap(1, 2);
        std::fs::write(&path, v.join("\n") + "\n").unwrap();
        assert!(matches!(
            verify(&path).unwrap(),
            Verdict::Broken { line: 2, .. }
        ));

        // Remove the first record.
        std::fs::write(&path, lines[1..].join("\n") + "\n").unwrap();
        assert!(matches!(
            verify(&path).unwrap(),
            Verdict::Broken { line: 1, .. }
        ));
    }
}
