//! Finding stacks in a workspace with zero configuration: Terraform/OpenTofu roots and their
//! local state (workspaces included), Pulumi projects and their file backends, plus the
//! `[[stack]]` entries of `fathom.toml` (which may read state through the user's CLI).
//!
//! State files are usually gitignored, so this walk ignores `.gitignore` but skips dependency
//! and build folders.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::model::Engine;
use crate::config::{StackConfig, StackEngine, StateRead};

/// Folders never descended into.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".terraform",
    "target",
    "vendor",
    "__pycache__",
    ".venv",
    "venv",
    ".deps",
    ".fathom",
    ".tox",
    ".mypy_cache",
];

/// Deepest folder level searched.
const MAX_DEPTH: usize = 12;
/// Most `.tf` files read to find local module sources.
const MAX_TF_FILES_READ: usize = 5000;

/// Where a stack's state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    /// A state file inside the workspace.
    File(PathBuf),
    /// The user's CLI, run in `dir` with `argv`.
    Cli { dir: PathBuf, argv: Vec<String> },
    /// Nothing readable was found; `why` says what to configure.
    Missing { why: String },
}

/// A stack fathom knows about.
#[derive(Debug, Clone)]
pub struct StackRef {
    /// Id used in tool calls: a root directory (`infra`, `infra:staging`), `project/stack`
    /// for Pulumi, or the configured name.
    pub id: String,
    pub engine: Engine,
    /// Root or project directory.
    pub dir: PathBuf,
    pub source: StateSource,
    /// Short description of the backend.
    pub backend: String,
    /// Files holding earlier versions (Terraform backups, Pulumi history and backups).
    pub history_files: Vec<PathBuf>,
    /// A lock file that says an operation is running.
    pub lock_file: Option<PathBuf>,
    /// The CLI that owns it: `terraform`, `tofu` or `pulumi`.
    pub cli: &'static str,
}

/// `tofu` when the root's provider lock file points at the OpenTofu registry.
fn terraform_cli(dir: &Path) -> &'static str {
    match std::fs::read_to_string(dir.join(".terraform.lock.hcl")) {
        Ok(t) if t.contains("registry.opentofu.org") => "tofu",
        _ => "terraform",
    }
}

#[derive(Debug, Default, Deserialize)]
struct PulumiProject {
    name: Option<String>,
    backend: Option<PulumiBackend>,
}

#[derive(Debug, Default, Deserialize)]
struct PulumiBackend {
    url: Option<String>,
}

/// Discovers stacks under `root`, then appends the configured ones (which win on id clashes).
pub fn discover(root: &Path, configured: &[StackConfig]) -> Vec<StackRef> {
    let mut tf_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut tf_files: Vec<PathBuf> = Vec::new();
    let mut state_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    let mut pulumi_projects: Vec<PathBuf> = Vec::new();
    let mut pulumi_backends: BTreeSet<PathBuf> = BTreeSet::new();

    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .max_depth(Some(MAX_DEPTH))
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_some_and(|t| t.is_dir()) && e.depth() > 0 {
                return !SKIP_DIRS.contains(&name.as_ref())
                    && (!name.starts_with('.') || name == ".pulumi");
            }
            true
        })
        .build();
    for entry in walker.flatten() {
        let path = entry.path();
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        if file_type.is_dir() {
            if name == ".pulumi"
                && let Some(parent) = path.parent()
            {
                pulumi_backends.insert(parent.to_path_buf());
            }
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        let parent = path.parent().unwrap_or(root).to_path_buf();
        if name.ends_with(".tf") || name.ends_with(".tofu") {
            tf_dirs.insert(parent);
            tf_files.push(path.to_path_buf());
        } else if name == "terraform.tfstate" {
            // terraform.tfstate.d/<ws>/terraform.tfstate belongs to the root above.
            let in_workspace_dir = parent
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "terraform.tfstate.d");
            if !in_workspace_dir {
                state_dirs.insert(parent);
            }
        } else if name == "Pulumi.yaml" || name == "Pulumi.yml" {
            pulumi_projects.push(path.to_path_buf());
        }
    }

    let modules = module_dirs(&tf_files);
    let mut stacks = Vec::new();
    let roots: BTreeSet<PathBuf> = tf_dirs
        .difference(&modules)
        .cloned()
        .chain(state_dirs.iter().cloned())
        .collect();
    for dir in roots {
        stacks.extend(terraform_stacks(root, &dir));
    }
    let mut claimed_backends = BTreeSet::new();
    for project_file in &pulumi_projects {
        stacks.extend(pulumi_stacks(root, project_file, &mut claimed_backends));
    }
    for backend in &pulumi_backends {
        if !claimed_backends.contains(backend) {
            stacks.extend(backend_stacks(root, backend, None, backend));
        }
    }
    for c in configured {
        stacks.retain(|s| s.id != c.name);
        stacks.push(configured_stack(root, c));
    }
    stacks.sort_by(|a, b| a.id.cmp(&b.id));
    stacks
}

/// Directories referenced as local module sources (`source = "./modules/db"`): not roots.
fn module_dirs(tf_files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let Ok(re) = Regex::new(r#"(?m)^\s*source\s*=\s*"(\.{1,2}/[^"]*)""#) else {
        return out;
    };
    for file in tf_files.iter().take(MAX_TF_FILES_READ) {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let dir = file.parent().unwrap_or(Path::new("."));
        for cap in re.captures_iter(&text) {
            if let Ok(p) = dir.join(&cap[1]).canonicalize() {
                out.insert(p);
            }
        }
    }
    out
}

fn rel_id(root: &Path, dir: &Path) -> String {
    let rel = dir
        .strip_prefix(root)
        .unwrap_or(dir)
        .to_string_lossy()
        .replace('\\', "/");
    if rel.is_empty() { ".".to_string() } else { rel }
}

fn terraform_stacks(root: &Path, dir: &Path) -> Vec<StackRef> {
    let id = rel_id(root, dir);
    let mut out = Vec::new();
    let state = dir.join("terraform.tfstate");
    let lock = dir.join(".terraform.tfstate.lock.info");
    let lock_file = lock.exists().then_some(lock);
    let mut history: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with("terraform.tfstate") && n.ends_with(".backup"))
        })
        .collect();
    history.sort();
    let source = if state.is_file() {
        StateSource::File(state)
    } else {
        StateSource::Missing {
            why: remote_backend_hint(dir),
        }
    };
    let backend = match &source {
        StateSource::File(_) => "local terraform.tfstate".to_string(),
        _ => backend_kind(dir).map_or("no local state".to_string(), |k| format!("{k} backend")),
    };
    out.push(StackRef {
        id: id.clone(),
        engine: Engine::Terraform,
        dir: dir.to_path_buf(),
        source,
        backend,
        history_files: history,
        lock_file: lock_file.clone(),
        cli: terraform_cli(dir),
    });
    // Non-default workspaces.
    let ws_root = dir.join("terraform.tfstate.d");
    if let Ok(entries) = std::fs::read_dir(&ws_root) {
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for ws in names {
            let state = ws.join("terraform.tfstate");
            if !state.is_file() {
                continue;
            }
            let name = ws
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let backup = ws.join("terraform.tfstate.backup");
            out.push(StackRef {
                id: format!("{id}:{name}"),
                engine: Engine::Terraform,
                dir: dir.to_path_buf(),
                source: StateSource::File(state),
                backend: format!("local workspace {name}"),
                history_files: if backup.is_file() {
                    vec![backup]
                } else {
                    Vec::new()
                },
                lock_file: lock_file.clone(),
                cli: terraform_cli(dir),
            });
        }
    }
    out
}

/// The backend type recorded by `terraform init` in `.terraform/terraform.tfstate`.
fn backend_kind(dir: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Init {
        backend: Option<Backend>,
    }
    #[derive(Deserialize)]
    struct Backend {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let text = std::fs::read_to_string(dir.join(".terraform/terraform.tfstate")).ok()?;
    serde_json::from_str::<Init>(&text).ok()?.backend?.kind
}

fn remote_backend_hint(dir: &Path) -> String {
    match backend_kind(dir) {
        Some(kind) => format!(
            "state is in a remote `{kind}` backend; declare a [[stack]] with read = \"cli\" to read it through terraform show -json"
        ),
        None => "no terraform.tfstate here (not applied yet, or a remote backend that was never initialised here)".to_string(),
    }
}

fn pulumi_stacks(
    root: &Path,
    project_file: &Path,
    claimed: &mut BTreeSet<PathBuf>,
) -> Vec<StackRef> {
    let dir = project_file.parent().unwrap_or(root).to_path_buf();
    let project: PulumiProject = std::fs::read_to_string(project_file)
        .ok()
        .and_then(|t| serde_yaml_ng::from_str(&t).ok())
        .unwrap_or_default();
    let name = project
        .name
        .clone()
        .unwrap_or_else(|| rel_id(root, &dir).replace('/', "-"));
    let url = project.backend.and_then(|b| b.url);
    let backend_dir = match url.as_deref() {
        Some(u) if u.starts_with("file://") => {
            let rest = &u["file://".len()..];
            if rest.starts_with('~') {
                None
            } else {
                let p = if Path::new(rest).is_absolute() {
                    PathBuf::from(rest)
                } else {
                    dir.join(rest)
                };
                p.canonicalize().ok().filter(|p| p.starts_with(root))
            }
        }
        Some(_) => None,
        None => [dir.clone(), root.to_path_buf()]
            .into_iter()
            .find(|d| d.join(".pulumi").is_dir()),
    };
    let mut stacks = match &backend_dir {
        Some(b) => {
            claimed.insert(b.clone());
            backend_stacks(root, b, Some(&name), &dir)
        }
        None => Vec::new(),
    };
    // Stacks that have a config file but no readable state.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_prefix("Pulumi.")
                    .and_then(|r| r.strip_suffix(".yaml").or_else(|| r.strip_suffix(".yml")))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        for stack in names {
            let id = format!("{name}/{stack}");
            if stacks.iter().any(|s| s.id == id) {
                continue;
            }
            let why = match url.as_deref() {
                Some(u) if u.starts_with("file://") => format!(
                    "the file backend {u} is outside the workspace or has no state for this stack"
                ),
                Some(u) => format!(
                    "state is in the {u} backend; declare a [[stack]] with read = \"cli\" to read it through pulumi stack export"
                ),
                None => "no .pulumi file backend in the project or workspace (Pulumi Cloud?); declare a [[stack]] with read = \"cli\"".to_string(),
            };
            stacks.push(StackRef {
                id,
                engine: Engine::Pulumi,
                dir: dir.clone(),
                source: StateSource::Missing { why },
                backend: url
                    .clone()
                    .unwrap_or_else(|| "Pulumi Cloud (default)".into()),
                history_files: Vec::new(),
                lock_file: None,
                cli: "pulumi",
            });
        }
    }
    stacks
}

/// Stacks stored in a file backend rooted at `backend` (which holds `.pulumi/`).
fn backend_stacks(root: &Path, backend: &Path, project: Option<&str>, dir: &Path) -> Vec<StackRef> {
    let stacks_dir = backend.join(".pulumi/stacks");
    let mut found: BTreeMap<String, (PathBuf, String, String)> = BTreeMap::new();
    let mut add = |file: PathBuf, proj: String| {
        let Some(fname) = file.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return;
        };
        let stack = match fname
            .strip_suffix(".json.gz")
            .or_else(|| fname.strip_suffix(".json"))
        {
            Some(s) => s.to_string(),
            None => return,
        };
        found
            .entry(format!("{proj}/{stack}"))
            .or_insert((file, proj, stack));
    };
    if let Ok(entries) = std::fs::read_dir(&stacks_dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                let proj = e.file_name().to_string_lossy().into_owned();
                if project.is_some_and(|want| want != proj) {
                    continue;
                }
                if let Ok(files) = std::fs::read_dir(&p) {
                    for f in files.flatten() {
                        add(f.path(), proj.clone());
                    }
                }
            } else {
                // Legacy layout: stacks not scoped by project.
                let proj = project
                    .map(str::to_string)
                    .unwrap_or_else(|| "legacy".into());
                add(p, proj);
            }
        }
    }
    let backend_label = format!("file backend {}", rel_id(root, backend));
    found
        .into_iter()
        .map(|(id, (file, proj, stack))| {
            let mut history = list_files(
                &backend.join(".pulumi/history").join(&proj).join(&stack),
                |n| n.contains(".checkpoint.json"),
            );
            history.extend(list_files(
                &backend.join(".pulumi/backups").join(&proj).join(&stack),
                |n| n.ends_with(".json") || n.ends_with(".json.gz"),
            ));
            let bak = file.with_file_name(format!(
                "{}.bak",
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            if bak.is_file() {
                history.push(bak);
            }
            // A running `pulumi up` holds `.pulumi/locks/<org>/<project>/<stack>/<id>.json`.
            let lock_file = std::fs::read_dir(backend.join(".pulumi/locks"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|org| org.path().join(&proj).join(&stack))
                .flat_map(|d| list_files(&d, |n| n.ends_with(".json")))
                .next();
            StackRef {
                id,
                engine: Engine::Pulumi,
                dir: dir.to_path_buf(),
                source: StateSource::File(file),
                backend: backend_label.clone(),
                history_files: history,
                lock_file,
                cli: "pulumi",
            }
        })
        .collect()
}

fn list_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| keep(&n.to_string_lossy())))
        .collect();
    out.sort();
    out
}

fn configured_stack(root: &Path, c: &StackConfig) -> StackRef {
    let engine = match c.engine {
        StackEngine::Terraform | StackEngine::Tofu => Engine::Terraform,
        StackEngine::Pulumi => Engine::Pulumi,
    };
    let program = match c.engine {
        StackEngine::Terraform => "terraform",
        StackEngine::Tofu => "tofu",
        StackEngine::Pulumi => "pulumi",
    };
    let dir = root.join(c.dir.clone().unwrap_or_default());
    let (source, backend) = match c.read {
        StateRead::File => {
            let file = root.join(c.state.clone().unwrap_or_default());
            (StateSource::File(file), "configured state file".to_string())
        }
        StateRead::Cli => {
            let argv: Vec<String> = match c.engine {
                StackEngine::Pulumi => {
                    let mut a = vec!["pulumi".into(), "stack".into(), "export".into()];
                    if let Some(s) = &c.pulumi_stack {
                        a.push("--stack".into());
                        a.push(s.clone());
                    }
                    a
                }
                _ => vec![
                    program.into(),
                    "show".into(),
                    "-json".into(),
                    "-no-color".into(),
                ],
            };
            (
                StateSource::Cli {
                    dir: dir.clone(),
                    argv: argv.clone(),
                },
                format!("via `{}`", argv.join(" ")),
            )
        }
    };
    StackRef {
        id: c.name.clone(),
        engine,
        dir,
        source,
        backend,
        history_files: Vec::new(),
        lock_file: None,
        cli: program,
    }
}

/// Finds a stack by exact id, or by a unique suffix (`dev` for `payments/dev`).
pub fn find<'a>(stacks: &'a [StackRef], query: &str) -> Result<&'a StackRef, Vec<&'a StackRef>> {
    if let Some(s) = stacks.iter().find(|s| s.id == query) {
        return Ok(s);
    }
    let candidates: Vec<&StackRef> = stacks
        .iter()
        .filter(|s| {
            s.id.ends_with(&format!("/{query}"))
                || s.id.ends_with(&format!(":{query}"))
                || s.id.rsplit('/').next() == Some(query)
        })
        .collect();
    if candidates.len() == 1 {
        Ok(candidates[0])
    } else {
        Err(candidates)
    }
}
