//! An error-tolerant symbol index of Terraform/OpenTofu modules: declarations (resources, data
//! sources, modules, variables, locals, outputs, providers) with their ranges and lifecycle
//! settings, and references to them (`var.x`, `local.y`, `module.z`, `data.t.n`, `t.n`, also
//! inside `"${…}"` strings).
//!
//! Tolerance: each top-level block is cut out by a lexical scan (strings, comments and heredocs
//! respected) and parsed on its own with hcl-edit, so one broken block does not hide the rest.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use hcl_edit::Span;
use hcl_edit::structure::Block;
use regex::Regex;

/// What a symbol declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Resource,
    Data,
    Module,
    Variable,
    Local,
    Output,
    Provider,
}

/// A zero-based line and a column in UTF-16 code units (LSP's default encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A half-open range of positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: Pos,
    pub end: Pos,
}

impl Range {
    pub fn contains(&self, p: Pos) -> bool {
        self.start <= p && p <= self.end
    }
}

/// `lifecycle` settings of a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    pub ignore_changes: Vec<String>,
}

/// A declaration.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// Address within its module: `aws_db_instance.payments`, `data.aws_ami.base`,
    /// `module.vpc`, `var.region`, `local.tags`, `output.endpoint`, `provider.aws`.
    pub address: String,
    pub kind: SymbolKind,
    pub file: PathBuf,
    /// The whole block (or attribute, for locals).
    pub range: Range,
    /// The name: the last label, or the local's key.
    pub name_range: Range,
    pub lifecycle: Lifecycle,
    /// For a `module` block with a local `source`: the child module's directory.
    pub module_source: Option<PathBuf>,
    /// For a `module` block: its arguments (the child's variables), by name and key range.
    pub module_inputs: Vec<(String, Range)>,
}

/// Arguments of a `module` block that are Terraform's, not the child module's variables.
const MODULE_META_ARGS: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "providers",
    "depends_on",
];

/// A use of a symbol.
#[derive(Debug, Clone)]
pub struct Reference {
    /// Address it points at (same forms as [`Symbol::address`]).
    pub target: String,
    pub file: PathBuf,
    pub range: Range,
    /// For `module.x.name`: the output name and its range (resolved in the child module).
    pub member: Option<(String, Range)>,
}

/// The index of one module directory.
#[derive(Debug, Clone, Default)]
pub struct ModuleIndex {
    pub dir: PathBuf,
    pub symbols: Vec<Symbol>,
    pub references: Vec<Reference>,
    /// Files (or blocks) that could not be parsed, for diagnostics.
    pub problems: Vec<String>,
}

impl ModuleIndex {
    /// Indexes the `.tf`/`.tofu` files in `dir`; `overlay` supplies unsaved text by path.
    pub fn build(dir: &Path, overlay: &dyn Fn(&Path) -> Option<String>) -> Self {
        let files = config_files(dir);
        let mut idx = ModuleIndex {
            dir: dir.to_path_buf(),
            ..Default::default()
        };
        let mut texts = Vec::new();
        for f in files {
            let text = match overlay(&f) {
                Some(t) => t,
                None => match std::fs::read_to_string(&f) {
                    Ok(t) => t,
                    Err(_) => continue,
                },
            };
            idx.add_declarations(&f, &text);
            texts.push((f, text));
        }
        // References need the full set of declared resources to recognise `type.name`.
        for (f, text) in &texts {
            idx.add_references(f, text);
        }
        idx
    }

    fn add_declarations(&mut self, file: &Path, text: &str) {
        let lines = LineIndex::new(text);
        for (start, end) in top_level_blocks(text) {
            let chunk = &text[start..end];
            let body = match hcl_edit::parser::parse_body(chunk) {
                Ok(b) => b,
                Err(_) => {
                    let line = lines.pos(start).line + 1;
                    self.problems.push(format!(
                        "{}:{line}: block does not parse; skipped",
                        file.display()
                    ));
                    continue;
                }
            };
            for block in body.blocks() {
                let Some(span) = block.span() else { continue };
                let range = lines.range(start + span.start, start + span.end);
                let labels: Vec<(String, Option<std::ops::Range<usize>>)> = block
                    .labels
                    .iter()
                    .map(|l| (l.as_str().to_string(), l.span()))
                    .collect();
                let name_range = labels
                    .last()
                    .and_then(|(_, s)| s.clone())
                    .map_or(range, |s| lines.range(start + s.start, start + s.end));
                let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
                let module_source = (block.ident.as_str() == "module")
                    .then(|| {
                        block
                            .body
                            .get_attribute("source")
                            .and_then(|a| a.value.as_str().map(str::to_string))
                    })
                    .flatten()
                    .filter(|src| src.starts_with("./") || src.starts_with("../"))
                    .and_then(|src| file.parent().map(|d| d.join(src)))
                    .and_then(|p| p.canonicalize().ok());
                let module_inputs: Vec<(String, Range)> = if block.ident.as_str() == "module" {
                    block
                        .body
                        .attributes()
                        .filter(|a| !MODULE_META_ARGS.contains(&a.key.as_str()))
                        .filter_map(|a| {
                            let k = a.key.span()?;
                            Some((
                                a.key.as_str().to_string(),
                                lines.range(start + k.start, start + k.end),
                            ))
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let mut push = |address: String, kind: SymbolKind, lifecycle: Lifecycle| {
                    self.symbols.push(Symbol {
                        address,
                        kind,
                        file: file.to_path_buf(),
                        range,
                        name_range,
                        lifecycle,
                        module_source: module_source.clone(),
                        module_inputs: module_inputs.clone(),
                    })
                };
                match (block.ident.as_str(), names.as_slice()) {
                    ("resource", [t, n]) => {
                        push(format!("{t}.{n}"), SymbolKind::Resource, lifecycle(block))
                    }
                    ("data", [t, n]) => push(
                        format!("data.{t}.{n}"),
                        SymbolKind::Data,
                        Lifecycle::default(),
                    ),
                    ("module", [n]) => push(
                        format!("module.{n}"),
                        SymbolKind::Module,
                        Lifecycle::default(),
                    ),
                    ("variable", [n]) => push(
                        format!("var.{n}"),
                        SymbolKind::Variable,
                        Lifecycle::default(),
                    ),
                    ("output", [n]) => push(
                        format!("output.{n}"),
                        SymbolKind::Output,
                        Lifecycle::default(),
                    ),
                    ("provider", [n]) => push(
                        format!("provider.{n}"),
                        SymbolKind::Provider,
                        Lifecycle::default(),
                    ),
                    ("locals", []) => {
                        for attr in block.body.attributes() {
                            let Some(s) = attr.span() else { continue };
                            let key_range = attr.key.span().map_or_else(
                                || lines.range(start + s.start, start + s.end),
                                |k| lines.range(start + k.start, start + k.end),
                            );
                            self.symbols.push(Symbol {
                                address: format!("local.{}", attr.key.as_str()),
                                kind: SymbolKind::Local,
                                file: file.to_path_buf(),
                                range: lines.range(start + s.start, start + s.end),
                                name_range: key_range,
                                lifecycle: Lifecycle::default(),
                                module_source: None,
                                module_inputs: Vec::new(),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn add_references(&mut self, file: &Path, text: &str) {
        static PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
            Regex::new(
                r"\b(?:(var|local|module)\.([A-Za-z_][\w-]*)(\.[A-Za-z_][\w-]*)?|data\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)|([a-z][a-z0-9]*_[A-Za-z0-9_]+)\.([A-Za-z_][\w-]*))",
            )
            .ok()
        });
        let Some(re) = PATTERN.as_ref() else { return };
        let code = blank_comments(text);
        let lines = LineIndex::new(text);
        let resources: std::collections::HashSet<&str> = self
            .symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Resource)
            .map(|s| s.address.as_str())
            .collect();
        let mut found = Vec::new();
        for m in re.captures_iter(&code) {
            let Some(whole) = m.get(0) else { continue };
            // `foo.var.x` is an attribute access, not a reference.
            if whole.start() > 0 && code.as_bytes()[whole.start() - 1] == b'.' {
                continue;
            }
            let mut member = None;
            let mut end = whole.end();
            let target = if let (Some(kind), Some(name)) = (m.get(1), m.get(2)) {
                if let Some(out) = m.get(3) {
                    if kind.as_str() == "module" {
                        member = Some((
                            out.as_str()[1..].to_string(),
                            lines.range(out.start() + 1, out.end()),
                        ));
                    }
                    end = name.end();
                }
                format!("{}.{}", kind.as_str(), name.as_str())
            } else if let (Some(t), Some(n)) = (m.get(4), m.get(5)) {
                format!("data.{}.{}", t.as_str(), n.as_str())
            } else if let (Some(t), Some(n)) = (m.get(6), m.get(7)) {
                let addr = format!("{}.{}", t.as_str(), n.as_str());
                if !resources.contains(addr.as_str()) {
                    continue;
                }
                addr
            } else {
                continue;
            };
            found.push(Reference {
                target,
                file: file.to_path_buf(),
                range: lines.range(whole.start(), end),
                member,
            });
        }
        self.references.extend(found);
    }

    /// The declaration whose name, or a reference to it, is at `pos` in `file`.
    pub fn symbol_at(&self, file: &Path, pos: Pos) -> Option<&Symbol> {
        if let Some(s) = self
            .symbols
            .iter()
            .find(|s| s.file == file && s.name_range.contains(pos))
        {
            return Some(s);
        }
        let r = self
            .references
            .iter()
            .find(|r| r.file == file && r.range.contains(pos))?;
        self.find(&r.target)
    }

    /// The reference at `pos` in `file`, if any (its member part included).
    pub fn reference_at(&self, file: &Path, pos: Pos) -> Option<&Reference> {
        self.references.iter().find(|r| {
            r.file == file
                && (r.range.contains(pos)
                    || r.member.as_ref().is_some_and(|(_, m)| m.contains(pos)))
        })
    }

    /// The module call argument at `pos` in `file`: the call and the argument's name.
    pub fn module_input_at(&self, file: &Path, pos: Pos) -> Option<(&Symbol, &str)> {
        self.symbols
            .iter()
            .filter(|s| s.kind == SymbolKind::Module && s.file == file)
            .find_map(|s| {
                s.module_inputs
                    .iter()
                    .find(|(_, r)| r.contains(pos))
                    .map(|(n, _)| (s, n.as_str()))
            })
    }

    /// The declaration of an address in this module.
    pub fn find(&self, address: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.address == address)
    }

    /// References to an address in this module.
    pub fn references_to<'a>(
        &'a self,
        address: &'a str,
    ) -> impl Iterator<Item = &'a Reference> + 'a {
        self.references.iter().filter(move |r| r.target == address)
    }
}

/// The `.tf` and `.tofu` files of one module directory, sorted.
pub fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf" || e == "tofu"))
        .collect();
    files.sort();
    files
}

fn lifecycle(block: &Block) -> Lifecycle {
    let mut l = Lifecycle::default();
    for b in block
        .body
        .blocks()
        .filter(|b| b.ident.as_str() == "lifecycle")
    {
        let flag =
            |name: &str| b.body.get_attribute(name).and_then(|a| a.value.as_bool()) == Some(true);
        l.prevent_destroy |= flag("prevent_destroy");
        l.create_before_destroy |= flag("create_before_destroy");
        if let Some(a) = b.body.get_attribute("ignore_changes") {
            let text = a.value.to_string();
            l.ignore_changes.extend(
                text.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|s| s.trim().trim_matches('"').to_string())
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    l
}

/// Byte offset → position, with UTF-16 columns.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        let mut end = offset;
        while end > start && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.text[start..end].encode_utf16().count();
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }

    fn range(&self, start: usize, end: usize) -> Range {
        Range {
            start: self.pos(start),
            end: self.pos(end),
        }
    }
}

/// Byte ranges of top-level blocks, found lexically (strings, comments and heredocs skipped).
fn top_level_blocks(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    let mut block_start: Option<usize> = None;
    let mut line_start = 0usize;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line_start = i + 1;
                i += 1;
            }
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |j| i + 2 + j + 2);
            }
            b'"' => i = skip_string(b, i),
            b'<' if b.get(i + 1) == Some(&b'<') => i = skip_heredoc(text, i),
            b'{' => {
                if depth == 0 {
                    block_start = Some(line_start);
                }
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                if depth == 0
                    && let Some(s) = block_start.take()
                {
                    out.push((s, i));
                }
            }
            _ => i += 1,
        }
    }
    if let Some(s) = block_start {
        out.push((s, b.len())); // unclosed: parse will fail and the block is skipped
    }
    out
}

fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |j| i + j)
}

fn skip_string(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut interp = 0usize;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'$' if b.get(j + 1) == Some(&b'{') => {
                interp += 1;
                j += 2;
            }
            b'}' if interp > 0 => {
                interp -= 1;
                j += 1;
            }
            b'"' if interp == 0 => return j + 1,
            b'\n' if interp == 0 => return j, // unterminated string: stop at the line end
            _ => j += 1,
        }
    }
    b.len()
}

fn skip_heredoc(text: &str, i: usize) -> usize {
    let rest = &text[i + 2..];
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let marker: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if marker.is_empty() {
        return i + 2;
    }
    let Some(nl) = text[i..].find('\n') else {
        return text.len();
    };
    let mut pos = i + nl + 1;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |j| pos + j);
        if text[pos..end].trim() == marker {
            return end;
        }
        pos = end + 1;
    }
    text.len()
}

/// `text` with comments replaced by spaces (same length, so offsets still line up).
fn blank_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i),
            b'#' => {
                let e = skip_line(b, i);
                out[i..e].iter_mut().for_each(|c| *c = b' ');
                i = e;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let e = skip_line(b, i);
                out[i..e].iter_mut().for_each(|c| *c = b' ');
                i = e;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let e = text[i + 2..].find("*/").map_or(b.len(), |j| i + 2 + j + 2);
                out[i..e].iter_mut().for_each(|c| {
                    if *c != b'\n' {
                        *c = b' '
                    }
                });
                i = e;
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"# payments
variable "region" {
  default = "eu-west-1"
}

locals {
  tags = { service = "payments" }
  name = "pay-${var.region}"
}

resource "aws_db_instance" "payments" {
  engine = "postgres"
  tags   = local.tags
  lifecycle {
    prevent_destroy = true
    ignore_changes  = [tags, engine_version]
  }
}

resource "broken" "one" {
  x = = 1
}

output "endpoint" {
  value = "${aws_db_instance.payments.endpoint}:5432"
}

module "vpc" {
  source = "./vpc"
  region = var.region # var.not_a_ref in a comment
}
"#;

    fn build() -> ModuleIndex {
        let dir = std::env::temp_dir().join(format!("fathom-hclidx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.tf"), MAIN).unwrap();
        let idx = ModuleIndex::build(&dir, &|_| None);
        std::fs::remove_dir_all(&dir).ok();
        idx
    }

    #[test]
    fn declarations_survive_a_broken_block() {
        let idx = build();
        let names: Vec<&str> = idx.symbols.iter().map(|s| s.address.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "var.region",
                "local.tags",
                "local.name",
                "aws_db_instance.payments",
                "output.endpoint",
                "module.vpc"
            ]
        );
        assert_eq!(idx.problems.len(), 1, "{:?}", idx.problems);
        let db = idx.find("aws_db_instance.payments").unwrap();
        assert_eq!(db.range.start.line, 10);
        assert!(db.lifecycle.prevent_destroy);
        assert_eq!(db.lifecycle.ignore_changes, vec!["tags", "engine_version"]);
    }

    #[test]
    fn references_in_expressions_and_strings_not_comments() {
        let idx = build();
        let count = |a: &str| idx.references_to(a).count();
        assert_eq!(count("var.region"), 2, "{:?}", idx.references);
        assert_eq!(count("local.tags"), 1);
        assert_eq!(count("aws_db_instance.payments"), 1);
        assert_eq!(count("var.not_a_ref"), 0);
    }
}
#[cfg(test)]
mod member_tests {
    use super::*;
    #[test]
    fn module_member_reference() {
        let dir = std::env::temp_dir().join(format!("fathom-hclmem-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("modules/vpc")).unwrap();
        std::fs::write(dir.join("main.tf"), "module \"vpc\" {\n  source = \"./modules/vpc\"\n}\n\noutput \"vpc\" {\n  value = module.vpc.vpc_id\n}\n").unwrap();
        std::fs::write(
            dir.join("modules/vpc/main.tf"),
            "output \"vpc_id\" {\n  value = 1\n}\n",
        )
        .unwrap();
        let dir = dir.canonicalize().unwrap();
        let idx = ModuleIndex::build(&dir, &|_| None);
        let m = idx.find("module.vpc").unwrap();
        assert_eq!(
            m.module_source.as_deref(),
            Some(dir.join("modules/vpc").as_path())
        );
        let r = idx.references_to("module.vpc").next().unwrap();
        let (name, range) = r.member.clone().unwrap();
        assert_eq!(name, "vpc_id");
        assert_eq!(range.start, Pos { line: 5, col: 21 });
        std::fs::remove_dir_all(&dir).ok();
    }
}
