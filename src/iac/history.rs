//! Earlier versions of a stack (Terraform backups, Pulumi file-backend history and backups)
//! and a resource-level diff between two versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::discovery::{StackRef, StateSource};
use super::model::Snapshot;

/// One version of a stack's state.
#[derive(Debug, Clone)]
pub struct Version {
    /// `current`, then `-1`, `-2`, … from newest to oldest.
    pub id: String,
    pub path: PathBuf,
    /// Where it comes from: `state`, `backup`, `history`, `.bak`.
    pub kind: &'static str,
    /// When it was written, if the file name or the file says.
    pub time: Option<String>,
    sort_key: i128,
}

/// Versions of a file-backed stack, newest first (`current` is the live state).
pub fn versions(stack: &StackRef) -> Vec<Version> {
    let StateSource::File(current) = &stack.source else {
        return Vec::new();
    };
    let mut older: Vec<Version> = stack
        .history_files
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (kind, nanos) = classify(&name);
            let key = nanos
                .map(i128::from)
                .or_else(|| mtime_nanos(p))
                .unwrap_or(0);
            Version {
                id: String::new(),
                path: p.clone(),
                kind,
                time: Some(format_nanos(key)),
                sort_key: key,
            }
        })
        .collect();
    // Pulumi writes the same update to history and to backups; keep one per instant.
    older.sort_by(|a, b| b.sort_key.cmp(&a.sort_key).then(a.kind.cmp(b.kind)));
    older.dedup_by(|a, b| {
        a.sort_key / 1_000_000 == b.sort_key / 1_000_000 && a.kind != ".bak" && b.kind != ".bak"
    });
    let mut out = vec![Version {
        id: "current".into(),
        path: current.clone(),
        kind: "state",
        time: mtime_nanos(current).map(format_nanos),
        sort_key: i128::MAX,
    }];
    for (i, mut v) in older.into_iter().enumerate() {
        v.id = format!("-{}", i + 1);
        out.push(v);
    }
    out
}

/// (kind, unix nanoseconds from the name) for history file names.
fn classify(name: &str) -> (&'static str, Option<i64>) {
    if name.ends_with(".bak") {
        return (".bak", None);
    }
    if name.contains(".checkpoint.json") {
        // <stack>-<nanos>.checkpoint.json
        let stem = name.split(".checkpoint.json").next().unwrap_or("");
        let nanos = stem.rsplit('-').next().and_then(|n| n.parse().ok());
        return ("history", nanos);
    }
    if name.starts_with("terraform.tfstate") {
        // terraform.tfstate.backup or terraform.tfstate.<unix seconds>.backup
        let secs = name
            .trim_start_matches("terraform.tfstate.")
            .trim_end_matches(".backup")
            .parse::<i64>()
            .ok()
            .map(|s| s * 1_000_000_000);
        return ("backup", secs);
    }
    // Pulumi backups: <stack>.<nanos>.json
    let nanos = name
        .trim_end_matches(".gz")
        .trim_end_matches(".json")
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok());
    ("backup", nanos)
}

fn mtime_nanos(p: &Path) -> Option<i128> {
    let t = std::fs::metadata(p).ok()?.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_nanos() as i128)
}

fn format_nanos(n: i128) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(n)
        .ok()
        .and_then(|t| {
            t.replace_nanosecond(0)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".into())
}

/// One changed resource and the attribute paths that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub address: String,
    pub paths: Vec<String>,
    /// Flags that changed (`protected`, `tainted`, …).
    pub flags: Vec<String>,
}

/// Resource-level difference between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
}

/// Most attribute paths reported per changed resource.
const MAX_PATHS: usize = 20;

/// Compares two snapshots by address. Secret values are compared masked, so a rotated secret
/// shows as unchanged: the diff never reveals that a secret changed by comparing its values.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Diff {
    let old_by: BTreeMap<&str, usize> = old
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.address.as_str(), i))
        .collect();
    let new_by: BTreeMap<&str, usize> = new
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.address.as_str(), i))
        .collect();
    let mut d = Diff::default();
    for (addr, &ni) in &new_by {
        match old_by.get(addr) {
            None => d.added.push((*addr).to_string()),
            Some(&oi) => {
                let (a, b) = (&old.resources[oi], &new.resources[ni]);
                let same_raw = match (&a.raw_attributes, &b.raw_attributes) {
                    (Some(x), Some(y)) => x.get() == y.get(),
                    (None, None) => true,
                    _ => false,
                };
                let mut paths = Vec::new();
                if !same_raw {
                    changed_paths(&a.attributes(), &b.attributes(), String::new(), &mut paths);
                }
                let flags: Vec<String> = {
                    let (fa, fb) = (a.flags.names(), b.flags.names());
                    fa.iter()
                        .filter(|f| !fb.contains(f))
                        .map(|f| format!("-{f}"))
                        .chain(
                            fb.iter()
                                .filter(|f| !fa.contains(f))
                                .map(|f| format!("+{f}")),
                        )
                        .collect()
                };
                if a.id() != b.id() {
                    paths.insert(0, "id".into());
                    paths.dedup();
                }
                if !paths.is_empty() || !flags.is_empty() {
                    paths.truncate(MAX_PATHS);
                    d.changed.push(Changed {
                        address: (*addr).to_string(),
                        paths,
                        flags,
                    });
                }
            }
        }
    }
    for addr in old_by.keys() {
        if !new_by.contains_key(addr) {
            d.removed.push((*addr).to_string());
        }
    }
    d
}

fn changed_paths(a: &Value, b: &Value, prefix: String, out: &mut Vec<String>) {
    if out.len() > MAX_PATHS || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                changed_paths(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    p,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                changed_paths(p, q, format!("{prefix}[{i}]"), out);
            }
        }
        _ => out.push(if prefix.is_empty() {
            "(all)".into()
        } else {
            prefix
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_names() {
        assert_eq!(
            classify("dev-1700000000123456789.checkpoint.json"),
            ("history", Some(1_700_000_000_123_456_789))
        );
        assert_eq!(
            classify("dev.1700000000123456789.json"),
            ("backup", Some(1_700_000_000_123_456_789))
        );
        assert_eq!(classify("terraform.tfstate.backup"), ("backup", None));
        assert_eq!(
            classify("terraform.tfstate.1700000000.backup"),
            ("backup", Some(1_700_000_000_000_000_000))
        );
        assert_eq!(classify("dev.json.bak"), (".bak", None));
    }

    #[test]
    fn paths_of_changes() {
        let mut out = Vec::new();
        changed_paths(
            &serde_json::json!({"a": 1, "tags": {"env": "dev", "x": 1}, "l": [1, 2]}),
            &serde_json::json!({"a": 1, "tags": {"env": "prod", "x": 1}, "l": [1, 3], "n": true}),
            String::new(),
            &mut out,
        );
        assert_eq!(out, vec!["l[1]", "n", "tags.env"]);
    }
}
