//! Every Terraform/OpenTofu state and Pulumi checkpoint in the shared corpus of real files
//! (`FATHOM_CORPUS`, set by scripts/test to ../shared/fixtures) is read, and its resource count
//! is checked against a count computed here independently from the raw JSON.

use std::path::{Path, PathBuf};

use fathom::iac::read::{self, StateError};
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    let dir = std::env::var("FATHOM_CORPUS").unwrap_or_else(|_| {
        panic!(
            "FATHOM_CORPUS is not set: it must point at the shared fixtures (../shared/fixtures); \
             scripts/test sets it when that folder exists"
        )
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "FATHOM_CORPUS={} is not a directory",
        dir.display()
    );
    dir
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| keep(&n.to_string_lossy())))
        .collect();
    out.sort();
    out
}

/// Independent count for Terraform v4: one resource per instance.
fn count_tf_v4(v: &Value) -> usize {
    v["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| r["instances"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0)
}

/// Independent count for `show -json`: resources of every module.
fn count_show(module: &Value) -> usize {
    module["resources"].as_array().map_or(0, Vec::len)
        + module["child_modules"]
            .as_array()
            .map(|c| c.iter().map(count_show).sum())
            .unwrap_or(0)
}

/// Independent count for Pulumi: resources that are not the stack or a provider.
fn count_pulumi(deployment: &Value) -> usize {
    deployment["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| {
                    let t = r["type"].as_str().unwrap_or("");
                    t != "pulumi:pulumi:Stack" && !t.starts_with("pulumi:providers:")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn every_corpus_state_reads_with_the_right_count() {
    let root = corpus();
    let mut checked = 0;
    let mut refused = Vec::new();
    let mut candidates = files(&root.join("opentofu-statefile"), |n| {
        n.ends_with(".tfstate")
    });
    candidates.extend(files(&root.join("terraform-json"), |n| {
        n.ends_with(".tfstate") || n.ends_with("state.json")
    }));
    candidates.extend(files(&root.join("opentofu-show-json"), |n| {
        n.ends_with(".tfstate")
    }));
    candidates.extend(files(&root.join("pulumi-checkpoint"), |n| {
        n.ends_with(".json")
    }));
    candidates.extend(files(&root.join("tfplan2md"), |n| n.ends_with(".tfstate")));
    assert!(
        candidates.len() >= 20,
        "corpus looks incomplete: {} files",
        candidates.len()
    );
    for path in &candidates {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let raw: Option<Value> = serde_json::from_str(&text).ok();
        let result = read::read_file(path, &name, 64 * 1024 * 1024);
        match (&raw, result) {
            (None, Err(e)) => {
                // Not JSON at all: the reader must say so plainly.
                assert!(
                    matches!(
                        e,
                        StateError::Empty { .. }
                            | StateError::Truncated { .. }
                            | StateError::Corrupt { .. }
                    ),
                    "{name}: unexpected error kind {e}"
                );
                refused.push(name);
            }
            (None, Ok(_)) => panic!("{name}: invalid JSON was accepted"),
            (Some(v), Ok(snap)) => {
                let expected = if v.get("format_version").is_some() {
                    v.get("values")
                        .and_then(|x| x.get("root_module"))
                        .map_or(0, count_show)
                } else if let Some(cp) = v.get("checkpoint") {
                    cp.get("latest").map_or(0, count_pulumi)
                } else if let Some(d) = v.get("deployment") {
                    count_pulumi(d)
                } else if let Some(latest) = v.get("latest") {
                    count_pulumi(latest)
                } else {
                    count_tf_v4(v)
                };
                assert_eq!(snap.managed_count(), expected, "{name}: resource count");
                // Outputs too.
                let outputs = if v.get("checkpoint").is_some() || v.get("latest").is_some() {
                    None
                } else if v.get("format_version").is_some() {
                    v["values"]["outputs"].as_object().map(|o| o.len())
                } else {
                    v["outputs"].as_object().map(|o| o.len())
                };
                if let Some(n) = outputs {
                    assert_eq!(snap.outputs.len(), n, "{name}: output count");
                }
                checked += 1;
            }
            (Some(_), Err(e)) => {
                // Valid JSON the reader refuses must be refused for a stated reason.
                let msg = e.to_string();
                // Only a version fathom does not read is an acceptable refusal of valid JSON.
                assert!(
                    matches!(e, StateError::FutureVersion { .. })
                        || (matches!(e, StateError::Unrecognized { .. })
                            && msg.contains("predates")),
                    "{name}: a valid state was refused: {msg}"
                );
                refused.push(format!("{name}: {msg}"));
            }
        }
    }
    assert!(
        checked >= 15,
        "only {checked} corpus files were read; refused: {refused:#?}"
    );
    eprintln!(
        "read {checked} corpus states; refused {} with a clear reason:",
        refused.len()
    );
    for r in &refused {
        eprintln!("  {r}");
    }
}

#[test]
fn corpus_secrets_are_masked() {
    let root = corpus();
    let path =
        root.join("pulumi-checkpoint/pkg__resource__stack__testdata__checkpoint-secrets.json");
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(
        raw.contains("4dabf18193072939515e22adb298388d"),
        "fixture changed"
    );
    let snap = read::read_file(&path, "secrets", 1 << 26).unwrap();
    let mut masked = 0;
    for r in &snap.resources {
        let attrs = r.attributes().to_string();
        assert!(
            !attrs.contains("4dabf18193072939515e22adb298388d"),
            "{}: secret object survived",
            r.address
        );
        masked += attrs.matches("[secret]").count();
    }
    assert!(masked > 0, "no secret was found to mask");

    let sens = root.join(
        "opentofu-show-json/internal__command__testdata__show-json-state__sensitive-variables__terraform.tfstate",
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&sens).unwrap()).unwrap();
    let snap = read::read_file(&sens, "sensitive", 1 << 26).unwrap();
    let mut checked = 0;
    for (block, r) in v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&snap.resources)
    {
        let paths = block["instances"][0]["sensitive_attributes"]
            .as_array()
            .map_or(0, Vec::len);
        if paths == 0 {
            continue;
        }
        let shown = r.attributes().to_string();
        assert!(shown.contains("[sensitive]"), "{}: {shown}", r.address);
        checked += 1;
    }
    assert!(checked > 0, "fixture has no sensitive attributes");
}

/// Every Terraform/OpenTofu plan in the corpus parses, and its counts equal counts derived
/// here from the raw `resource_changes` the way Terraform's `Plan:` line counts them.
#[test]
fn every_corpus_plan_parses_with_the_right_counts() {
    let root = corpus();
    let mut plans = Vec::new();
    for dir in ["terraform-json", "opentofu-show-json", "tfplan2md"] {
        plans.extend(files(&root.join(dir), |n| n.ends_with(".json")));
    }
    let mut checked = 0;
    for path in &plans {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(raw) = serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap()) else {
            continue; // not JSON (a broken fixture): covered by the state test
        };
        if raw.get("resource_changes").is_none() && raw.get("planned_values").is_none() {
            continue; // a state document, not a plan
        }
        let plan = fathom::iac::plan::parse_plan(&serde_json::to_vec(&raw).unwrap(), &name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (mut add, mut change, mut destroy) = (0, 0, 0);
        for rc in raw["resource_changes"].as_array().into_iter().flatten() {
            if rc["mode"] == "data" {
                continue;
            }
            let actions: Vec<&str> = rc["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            match actions.as_slice() {
                ["create"] => add += 1,
                ["update"] => change += 1,
                ["delete"] => destroy += 1,
                ["delete", "create"] | ["create", "delete"] => {
                    add += 1;
                    destroy += 1;
                }
                _ => {}
            }
        }
        let c = plan.counts();
        assert_eq!(
            (c.add, c.change, c.destroy),
            (add, change, destroy),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} plans checked");
    eprintln!("checked {checked} corpus plans");
}

/// Every Pulumi preview and engine event log in the corpus parses; preview documents' counts
/// equal their own `changeSummary`, event logs' equal their `summaryEvent`.
#[test]
fn every_corpus_pulumi_preview_parses_with_the_right_counts() {
    let root = corpus();
    let mut checked = 0;
    let mut candidates = files(&root.join("pulumi-preview"), |n| {
        n.contains("preview") && n.ends_with(".json")
    });
    candidates.extend(files(&root.join("pulumi-eventstream"), |n| {
        n.ends_with(".json")
    }));
    for path in &candidates {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let plan = fathom::iac::pulumi_preview::parse(&bytes, &name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Pulumi's own summary, from the document or the summary event.
        let text = String::from_utf8_lossy(&bytes);
        let summary: Option<Value> = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|d| d.get("changeSummary").cloned())
            .or_else(|| {
                text.lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .find_map(|e| e.pointer("/summaryEvent/resourceChanges").cloned())
            });
        // Independently: steps by op, with the replace family counted once per URN.
        // Count per op; the replace family counts once per URN.
        let mut ops: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let doc: Option<Value> = serde_json::from_str(&text).ok();
        let steps: Vec<Value> = match doc.as_ref().and_then(|d| d.get("steps")) {
            Some(s) => s.as_array().cloned().unwrap_or_default(),
            None => {
                // Pulumi reports a refresh step's outcome in its outputs event.
                let events: Vec<Value> = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .collect();
                let mut pre: Vec<Value> = events
                    .iter()
                    .filter_map(|e| e.pointer("/resourcePreEvent/metadata").cloned())
                    .collect();
                for e in &events {
                    if let Some(out) = e.pointer("/resOutputsEvent/metadata")
                        && let Some(p) = pre
                            .iter_mut()
                            .find(|p| p["urn"] == out["urn"] && p["op"] == "refresh")
                    {
                        p["op"] = if out["op"] == "refresh" {
                            json!("same")
                        } else {
                            out["op"].clone()
                        };
                    }
                }
                pre
            }
        };
        for s in &steps {
            let op = s["op"].as_str().unwrap_or("").to_string();
            let op = if op == "create-replacement" || op == "delete-replaced" {
                "replace".to_string()
            } else {
                op
            };
            ops.entry(op)
                .or_default()
                .push(s["urn"].as_str().unwrap_or("").to_string());
        }
        let n = |op: &str| {
            ops.get(op).map_or(0, |urns| {
                if op == "replace" {
                    urns.iter().collect::<std::collections::BTreeSet<_>>().len()
                } else {
                    urns.len()
                }
            })
        };
        let c = plan.counts();
        assert_eq!(c.add, n("create") + n("replace"), "{name}: creates");
        assert_eq!(c.change, n("update"), "{name}: updates");
        assert_eq!(c.destroy, n("delete") + n("replace"), "{name}: deletes");
        // An `up` event log summarises what completed (a failed step is not in it); only a
        // preview's summary is a plan.
        let is_preview =
            doc.as_ref().is_some_and(|d| d.get("steps").is_some()) || name.contains("preview");
        if let Some(sum) = summary.filter(|_| is_preview) {
            let get = |k: &str| sum.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
            assert_eq!(
                c.add - c.replace,
                get("create"),
                "{name}: changeSummary create {sum}"
            );
            assert_eq!(
                c.change,
                get("update"),
                "{name}: changeSummary update {sum}"
            );
            assert_eq!(
                c.destroy - c.replace,
                get("delete"),
                "{name}: changeSummary delete {sum}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 60, "only {checked} previews checked");
    eprintln!("checked {checked} Pulumi previews and event logs");
}
