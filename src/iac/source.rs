//! Links from state and plan addresses to the HCL that declares them: `path:line` of each
//! `resource`, `data` and `module` block in a root and in its local child modules, and the
//! `lifecycle` settings the risk rules need (`prevent_destroy`, `create_before_destroy`).
//!
//! Files that do not parse are skipped and named in `warnings`; the rest still link.

use std::collections::HashMap;
use std::path::Path;

use hcl_edit::Span;
use hcl_edit::structure::{Block, Body};

/// Where a block is declared and what its lifecycle says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Workspace-relative path.
    pub path: String,
    /// 1-based line of the block's first line.
    pub line: usize,
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
}

impl Declaration {
    /// `path:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.path, self.line)
    }
}

/// Declarations of a root module and its local child modules, by address without instance
/// keys (`module.net.aws_instance.web`).
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    decls: HashMap<String, Declaration>,
    /// Files that could not be parsed.
    pub warnings: Vec<String>,
}

/// Deepest chain of local modules followed.
const MAX_MODULE_DEPTH: usize = 8;

impl SourceIndex {
    /// Indexes the `.tf` files of `root_dir` (and local modules it calls); paths are shown
    /// relative to `workspace`.
    pub fn build(root_dir: &Path, workspace: &Path) -> Self {
        let mut index = SourceIndex::default();
        index.add_module(root_dir, workspace, "", 0);
        index
    }

    fn add_module(&mut self, dir: &Path, workspace: &Path, prefix: &str, depth: usize) {
        if depth > MAX_MODULE_DEPTH {
            return;
        }
        for file in crate::code::hcl::index::config_files(dir) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let shown = file
                .strip_prefix(workspace)
                .unwrap_or(&file)
                .to_string_lossy()
                .replace('\\', "/");
            let body: Body = match hcl_edit::parser::parse_body(&text) {
                Ok(b) => b,
                Err(e) => {
                    let first = e.to_string();
                    let first = first.lines().next().unwrap_or("syntax error");
                    self.warnings.push(format!("{shown}: not parsed ({first})"));
                    continue;
                }
            };
            for block in body.blocks() {
                let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
                let kind = block.ident.as_str();
                let line = block.span().map_or(1, |s| line_of(&text, s.start));
                let decl = |b: &Block| Declaration {
                    path: shown.clone(),
                    line,
                    prevent_destroy: lifecycle_flag(b, "prevent_destroy"),
                    create_before_destroy: lifecycle_flag(b, "create_before_destroy"),
                };
                match (kind, labels.as_slice()) {
                    ("resource", [t, n]) => {
                        self.decls.insert(format!("{prefix}{t}.{n}"), decl(block));
                    }
                    ("data", [t, n]) => {
                        self.decls
                            .insert(format!("{prefix}data.{t}.{n}"), decl(block));
                    }
                    ("module", [name]) => {
                        let address = format!("{prefix}module.{name}");
                        self.decls.insert(address.clone(), decl(block));
                        let source = block
                            .body
                            .get_attribute("source")
                            .and_then(|a| a.value.as_str())
                            .map(str::to_string);
                        if let Some(src) =
                            source.filter(|s| s.starts_with("./") || s.starts_with("../"))
                            && let Ok(child) = dir.join(&src).canonicalize()
                            && child.starts_with(workspace)
                        {
                            self.add_module(&child, workspace, &format!("{address}."), depth + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The declaration of an address; instance keys (`[0]`, `["a"]`) are ignored.
    pub fn find(&self, address: &str) -> Option<&Declaration> {
        self.decls.get(&strip_keys(address))
    }

    pub fn len(&self) -> usize {
        self.decls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decls.is_empty()
    }
}

fn lifecycle_flag(block: &Block, name: &str) -> bool {
    block
        .body
        .blocks()
        .filter(|b| b.ident.as_str() == "lifecycle")
        .any(|b| b.body.get_attribute(name).and_then(|a| a.value.as_bool()) == Some(true))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// `module.a["x"].aws_instance.web[0]` → `module.a.aws_instance.web`.
pub fn strip_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0usize;
    let mut in_string = false;
    let mut prev = '\0';
    for c in address.chars() {
        match c {
            '"' if depth > 0 && prev != '\\' => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stripped() {
        assert_eq!(strip_keys("aws_instance.web[0]"), "aws_instance.web");
        assert_eq!(
            strip_keys("module.a[\"x]y\"].aws_instance.web[\"k\"]"),
            "module.a.aws_instance.web"
        );
    }

    #[test]
    fn indexes_roots_and_local_modules() {
        let dir = std::env::temp_dir().join(format!("fathom-src-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(dir.join("modules/db")).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            "# root\n\nresource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"x\"\n}\n\nmodule \"db\" {\n  source = \"./modules/db\"\n}\n\ndata \"aws_ami\" \"base\" {}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("modules/db/main.tf"),
            "resource \"aws_db_instance\" \"main\" {\n  engine = \"postgres\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
        )
        .unwrap();
        std::fs::write(dir.join("broken.tf"), "resource \"x\" {\n").unwrap();
        let ws = dir.canonicalize().unwrap();
        let idx = SourceIndex::build(&ws, &ws);
        assert_eq!(
            idx.find("aws_s3_bucket.logs").unwrap().location(),
            "main.tf:3"
        );
        assert_eq!(idx.find("data.aws_ami.base").unwrap().line, 11);
        let db = idx.find("module.db.aws_db_instance.main[0]").unwrap();
        assert_eq!(db.location(), "modules/db/main.tf:1");
        assert!(db.prevent_destroy);
        assert!(
            idx.warnings.iter().any(|w| w.starts_with("broken.tf")),
            "{:?}",
            idx.warnings
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
