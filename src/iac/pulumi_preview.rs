//! Pulumi previews read into the same change model as Terraform plans: `pulumi preview --json`
//! (`{steps: [...], changeSummary}`) and the engine event log (`--event-log`, one JSON event per
//! line: `resourcePreEvent` metadata, `summaryEvent`). The replace family of steps
//! (`create-replacement`, `replace`, `delete-replaced`) becomes one replace whose order follows
//! which half comes first.

use serde_json::Value;

use super::plan::{Action, Change, Plan, PlanError};
use super::pulumi::urn_name;
use super::secrets;

/// Whether `bytes` look like a Pulumi preview (either form).
pub fn is_pulumi_preview(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.contains("\"steps\"")
        || text.contains("\"resourcePreEvent\"")
        || text.contains("\"preludeEvent\"")
}

/// One step, in either form.
struct Step {
    op: String,
    urn: String,
    rtype: Option<String>,
    provider: Option<String>,
    old: Value,
    new: Value,
    detailed: Value,
    reasons: Vec<String>,
    replace_reasons: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn step_from(v: &Value, old_key: &str, new_key: &str) -> Option<Step> {
    Some(Step {
        op: v.get("op")?.as_str()?.to_string(),
        urn: v.get("urn")?.as_str()?.to_string(),
        rtype: v.get("type").and_then(Value::as_str).map(str::to_string),
        provider: v
            .get("provider")
            .and_then(Value::as_str)
            .map(str::to_string),
        old: v.get(old_key).cloned().unwrap_or(Value::Null),
        new: v.get(new_key).cloned().unwrap_or(Value::Null),
        detailed: v.get("detailedDiff").cloned().unwrap_or(Value::Null),
        reasons: {
            let mut r = strings(v.get("diffReasons").unwrap_or(&Value::Null));
            r.extend(strings(v.get("diffs").unwrap_or(&Value::Null)));
            r
        },
        replace_reasons: {
            let mut r = strings(v.get("replaceReasons").unwrap_or(&Value::Null));
            r.extend(strings(v.get("keys").unwrap_or(&Value::Null)));
            r
        },
    })
}

/// Parses a preview in either form.
pub fn parse(bytes: &[u8], what: &str) -> Result<Plan, PlanError> {
    let text = String::from_utf8_lossy(bytes);
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    let trimmed = text.trim_start();
    let single: Option<Value> = serde_json::from_str(trimmed).ok();
    match single {
        Some(doc) if doc.get("steps").is_some() => {
            for s in doc["steps"].as_array().into_iter().flatten() {
                if let Some(step) = step_from(s, "oldState", "newState") {
                    steps.push(step);
                }
            }
        }
        _ => {
            // An event log: one event per line. A refresh step's outcome (`update` when the
            // cloud differs, `same` otherwise) arrives in its outputs event.
            let mut bad = 0;
            let mut any = false;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let Ok(ev) = serde_json::from_str::<Value>(line) else {
                    bad += 1;
                    continue;
                };
                any = true;
                if let Some(m) = ev.pointer("/resourcePreEvent/metadata")
                    && let Some(step) = step_from(m, "old", "new")
                {
                    steps.push(step);
                } else if let Some(m) = ev.pointer("/resOutputsEvent/metadata")
                    && let Some(out) = step_from(m, "old", "new")
                    && let Some(pre) = steps
                        .iter_mut()
                        .find(|s| s.urn == out.urn && s.op == "refresh")
                {
                    pre.op = if out.op == "refresh" {
                        "same".into()
                    } else {
                        out.op
                    };
                }
            }
            if !any {
                return Err(PlanError::Json {
                    what: what.to_string(),
                    detail: "neither a preview document with `steps` nor an event log".into(),
                });
            }
            if bad > 0 {
                warnings.push(format!(
                    "{bad} line(s) of the event log are not JSON and were skipped"
                ));
            }
        }
    }
    Ok(build(steps, warnings))
}

fn build(steps: Vec<Step>, warnings: Vec<String>) -> Plan {
    // Each step is one change, except the replace family, which merges per URN.
    let is_replace = |op: &str| matches!(op, "replace" | "create-replacement" | "delete-replaced");
    let mut groups: Vec<Vec<Step>> = Vec::new();
    for s in steps {
        if is_replace(&s.op)
            && let Some(g) = groups.iter_mut().find(|g| {
                g[0].urn == s.urn && is_replace(&g[0].op) && !g.iter().any(|x| x.op == s.op)
            })
        {
            g.push(s);
            continue;
        }
        groups.push(vec![s]);
    }
    let mut changes = Vec::new();
    for group in groups {
        let urn = group[0].urn.clone();
        let ops: Vec<&str> = group.iter().map(|s| s.op.as_str()).collect();
        let replace = ops.iter().any(|o| is_replace(o));
        let action = if replace {
            let del = ops.iter().position(|o| *o == "delete-replaced");
            let cre = ops.iter().position(|o| *o == "create-replacement");
            match (del, cre) {
                (Some(d), Some(c)) if d < c => Action::ReplaceDeleteFirst,
                _ => Action::ReplaceCreateFirst,
            }
        } else {
            match ops.first().copied().unwrap_or("same") {
                "create" => Action::Create,
                "update" => Action::Update,
                "delete" => Action::Delete,
                "read" | "read-replacement" => Action::Read,
                "import" | "import-replacement" => Action::Import,
                "discard" | "discard-replaced" => Action::Forget,
                _ => Action::NoOp,
            }
        };
        // Prefer the step that carries both states (the `replace` step, or the only one).
        let main = group
            .iter()
            .find(|s| s.op == "replace")
            .or_else(|| group.first());
        let Some(main) = main else { continue };
        let old = &main.old;
        let new = group
            .iter()
            .rev()
            .find(|s| !s.new.is_null())
            .map_or(&Value::Null, |s| &s.new);
        let rtype = main
            .rtype
            .clone()
            .or_else(|| {
                old.get("type")
                    .or_else(|| new.get("type"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let mut replace_paths: Vec<String> = main.replace_reasons.clone();
        let mut diff_paths: Vec<String> = main.reasons.clone();
        if let Value::Object(d) = &main.detailed {
            for (path, kind) in d {
                // `kind` in `preview --json`, `diffKind` in engine events.
                let k = kind
                    .get("kind")
                    .or_else(|| kind.get("diffKind"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if k.ends_with("-replace") && !replace_paths.contains(path) {
                    replace_paths.push(path.clone());
                }
                if !diff_paths.contains(path) {
                    diff_paths.push(path.clone());
                }
            }
        }
        let mut before = old.get("inputs").cloned().unwrap_or(Value::Null);
        let mut after = new.get("inputs").cloned().unwrap_or(Value::Null);
        // Secrets are masked before diffing, so their values never reach a diff.
        secrets::mask_pulumi_secrets(&mut before);
        secrets::mask_pulumi_secrets(&mut after);
        if action == Action::Delete {
            after = Value::Null;
        }
        let flag = |k: &str| old.get(k).and_then(Value::as_bool).unwrap_or(false);
        changes.push(Change {
            name: urn_name(&urn).to_string(),
            address: urn,
            previous_address: None,
            module: old
                .get("parent")
                .or_else(|| new.get("parent"))
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            mode: if action == Action::Read {
                "data".into()
            } else {
                "managed".into()
            },
            rtype,
            provider: main.provider.clone(),
            action,
            reason: (!diff_paths.is_empty()).then(|| format!("diffs: {}", diff_paths.join(", "))),
            replace_paths,
            deposed: None,
            protected: flag("protect"),
            retain_on_delete: flag("retainOnDelete"),
            source: None,
            prevent_destroy: false,
            before,
            after,
            after_unknown: Value::Null,
            before_sensitive: Value::Null,
            after_sensitive: Value::Null,
        });
    }
    let prior_resources = changes
        .iter()
        .filter(|c| {
            !matches!(c.action, Action::Create | Action::Read) && c.rtype != "pulumi:pulumi:Stack"
        })
        .count();
    Plan {
        format_version: "pulumi".into(),
        engine_version: None,
        changes,
        drift: Vec::new(),
        outputs: Vec::new(),
        prior_resources,
        errored: false,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_log_replace_with_diff_kind_spelling() {
        let urn = "urn:pulumi:dev::p::aws:rds/instance:Instance::db";
        let lines = [
            serde_json::json!({"preludeEvent": {"config": {}}}),
            serde_json::json!({"resourcePreEvent": {"metadata": {"op": "delete-replaced", "urn": urn, "type": "aws:rds/instance:Instance",
                "old": {"inputs": {"engine": "postgres"}, "protect": false}}}}),
            serde_json::json!({"resourcePreEvent": {"metadata": {"op": "create-replacement", "urn": urn, "type": "aws:rds/instance:Instance",
                "new": {"inputs": {"engine": "mysql"}}}}}),
            serde_json::json!({"resourcePreEvent": {"metadata": {"op": "replace", "urn": urn, "type": "aws:rds/instance:Instance",
                "old": {"inputs": {"engine": "postgres"}}, "new": {"inputs": {"engine": "mysql"}},
                "detailedDiff": {"engine": {"diffKind": "update-replace", "inputDiff": true}}, "diffs": ["engine"], "keys": ["engine"]}}}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let plan = parse(text.as_bytes(), "events").unwrap();
        assert_eq!(plan.changes.len(), 1);
        let c = &plan.changes[0];
        assert_eq!(c.action, Action::ReplaceDeleteFirst);
        assert_eq!(c.replace_paths, vec!["engine".to_string()]);
        assert!(c.diffs().iter().any(|d| d.path == "engine"));
    }
}
