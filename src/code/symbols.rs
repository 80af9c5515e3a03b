//! Symbol queries answered by language servers: where a name is defined, its references,
//! definition and hover at a position, and a file's outline.
//!
//! `where_is` does not trust `workspace/symbol` (pyright rescans everything per query;
//! typescript-language-server only knows projects with an open file). It prefilters candidate
//! files with a whole-word text search, asks `documentSymbol` of those, and caches each file's
//! symbol table by content hash.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lsp_types::{
    DocumentSymbol, DocumentSymbolResponse, GotoDefinitionResponse, Hover, HoverContents, Location,
    MarkedString, SymbolKind,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::lsp::registry::{self, ServerSpec};
use super::lsp::supervisor::{Limits, LspError, Readiness, Supervisor};
use super::lsp::text::{Encoding, from_server_col, line_of, to_server_col, uri_to_path};
use super::search::{self, CaseMode, Query, Scope};
use crate::config::LspConfig;

/// Candidate files asked for their symbols in one `where_is`.
const MAX_CANDIDATE_FILES: usize = 400;
/// `documentSymbol` requests in flight at once per query.
const PARALLEL: usize = 8;
/// Context kept per reference line.
const CONTEXT_CHARS: usize = 120;

/// Reports progress of a long query.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

/// Whether an answer covers everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// Something was left out; the text says what, e.g. `indexing: Analyzing 40 files`.
    Partial(String),
}

impl Completeness {
    fn add(&mut self, why: String) {
        match self {
            Completeness::Complete => *self = Completeness::Partial(why),
            Completeness::Partial(w) if !w.contains(&why) => {
                w.push_str("; ");
                w.push_str(&why);
            }
            Completeness::Partial(_) => {}
        }
    }
}

/// A definition found in a file's symbol table. Lines and columns are 1-based, columns in
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: &'static str,
    /// Enclosing symbols, outermost first, joined with `.`.
    pub container: Option<String>,
    pub path: PathBuf,
    /// The whole declaration.
    pub line: u32,
    pub end_line: u32,
    /// The identifier (where references are asked).
    pub sel_line: u32,
    pub sel_col: u32,
    /// Nesting depth in the outline.
    pub depth: u32,
    /// A name bound by an import (some servers list those as variables): not a definition.
    pub import: bool,
}

impl Symbol {
    /// `container.name`, or the name.
    pub fn qualified(&self) -> String {
        match &self.container {
            Some(c) => format!("{c}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How a symbol matched the name asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    Exact,
    Fuzzy,
}

/// The answer to `where_is`.
#[derive(Debug, Clone)]
pub struct Found {
    pub symbols: Vec<(Symbol, Match)>,
    pub completeness: Completeness,
    /// Files whose symbols were read.
    pub files: usize,
}

/// A place in a file, with its line for context. 1-based; `context` is empty outside the
/// workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line: u32,
    pub col: u32,
    pub context: String,
}

/// References to one definition, grouped by file in path order.
#[derive(Debug, Clone)]
pub struct Refs {
    pub target: Place,
    pub by_file: BTreeMap<PathBuf, Vec<Place>>,
    pub total: usize,
    pub completeness: Completeness,
}

/// What a symbol query resolved to before asking for references.
#[derive(Debug, Clone)]
pub enum Resolved {
    At(PathBuf, u32, u32),
    /// Several definitions match; the caller picks one (1-based) and asks again.
    Ambiguous(Vec<Symbol>),
    NotFound(Completeness),
}

/// Language servers for one workspace, started on first use.
#[derive(Debug)]
pub struct Symbols {
    root: PathBuf,
    specs: Vec<ServerSpec>,
    limits: Limits,
    max_file_bytes: u64,
    servers: Mutex<HashMap<String, Arc<Supervisor>>>,
    tables: Mutex<SymbolCache>,
}

/// Symbol tables by file, with the content hash they were read from.
type SymbolCache = HashMap<PathBuf, ([u8; 32], Arc<Vec<Symbol>>)>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Symbols {
    /// Chooses servers from `config` and the binaries on `PATH`; starts none.
    pub fn new(root: &Path, config: &LspConfig, max_file_bytes: u64) -> Self {
        let path_var = std::env::var("PATH").ok();
        Self {
            root: root.to_path_buf(),
            specs: registry::resolve(&config.servers, path_var.as_deref()),
            limits: Limits {
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                ready_wait: Duration::from_secs(config.ready_wait_secs),
                max_open: config.max_open_documents,
            },
            max_file_bytes,
            servers: Mutex::default(),
            tables: Mutex::default(),
        }
    }

    /// The server specs, for listing what is installed.
    pub fn specs(&self) -> &[ServerSpec] {
        &self.specs
    }

    /// The language serving `path`, by extension.
    pub fn spec_for(&self, path: &Path) -> Option<&ServerSpec> {
        let ext = path.extension()?.to_str()?;
        self.specs
            .iter()
            .find(|s| s.extensions.iter().any(|e| e == ext))
    }

    /// The supervisor for a language (created, not started).
    pub fn server(&self, language: &str) -> Option<Arc<Supervisor>> {
        let spec = self.specs.iter().find(|s| s.language == language)?;
        let mut servers = lock(&self.servers);
        Some(
            servers
                .entry(language.to_string())
                .or_insert_with(|| {
                    Arc::new(Supervisor::new(
                        spec.clone(),
                        self.root.clone(),
                        self.limits,
                    ))
                })
                .clone(),
        )
    }

    fn server_for(&self, path: &Path) -> Result<Arc<Supervisor>, LspError> {
        let spec = self.spec_for(path).ok_or_else(|| LspError::NotInstalled {
            language: path
                .extension()
                .map_or("this".into(), |e| format!(".{}", e.to_string_lossy())),
            hint: "no language server is known for this file type; add one with [[lsp.server]] in fathom.toml".into(),
        })?;
        if spec.command.is_none() {
            return Err(LspError::NotInstalled {
                language: spec.language.clone(),
                hint: spec.install_hint.clone(),
            });
        }
        self.server(&spec.language)
            .ok_or_else(|| LspError::NotInstalled {
                language: spec.language.clone(),
                hint: spec.install_hint.clone(),
            })
    }

    /// Starts the servers for `languages` now (at `serve` start), logging failures.
    pub async fn warm(&self, languages: &[String]) {
        for language in languages {
            if let Some(s) = self.server(language)
                && let Err(e) = s.ensure_started().await
            {
                tracing::warn!(%language, error = %e, "could not warm language server");
            }
        }
    }

    /// Stops every server this workspace started.
    pub async fn shutdown(&self) {
        let servers: Vec<_> = lock(&self.servers).values().cloned().collect();
        for s in servers {
            s.shutdown().await;
        }
    }

    /// Definitions of `name` (optionally `Container.name`), exact matches before fuzzy ones.
    /// `kind` filters by symbol kind; `start` narrows the files searched.
    pub async fn where_is(
        &self,
        name: &str,
        kind: Option<&str>,
        start: &Path,
        stop: &AtomicBool,
        progress: Progress<'_>,
    ) -> Result<Found, LspError> {
        let word = name.rsplit('.').next().unwrap_or(name);
        let mut completeness = Completeness::Complete;
        let mut found = Vec::new();
        let mut files_read = 0;
        // Whole word first; a substring pass only when nothing matched exactly.
        for whole_word in [true, false] {
            let (files, cut) = self.candidates(word, whole_word, start, stop)?;
            self.notice(&files).await;
            if cut {
                completeness.add(format!(
                    "more than {MAX_CANDIDATE_FILES} files mention `{word}`; narrow with `path`"
                ));
            }
            if !files.is_empty() {
                progress(format!("reading symbols of {} files", files.len()));
            }
            let tables = self.tables_for(&files, &mut completeness).await?;
            files_read = tables.len();
            found = tables
                .iter()
                .flat_map(|t| t.iter())
                .filter(|s| kind.is_none_or(|k| s.kind.eq_ignore_ascii_case(k)))
                .filter(|s| !s.import)
                .filter_map(|s| match_symbol(s, name).map(|m| (s.clone(), m)))
                .collect();
            if found.iter().any(|(_, m)| *m == Match::Exact) {
                break;
            }
        }
        found.sort_by(|(a, ma), (b, mb)| {
            (ma, a.name.len(), &a.path, a.line).cmp(&(mb, b.name.len(), &b.path, b.line))
        });
        Ok(Found {
            symbols: found,
            completeness,
            files: files_read,
        })
    }

    /// Tells each running server which of `files` changed on disk since it last saw them.
    async fn notice(&self, files: &[PathBuf]) {
        let mut by_language: HashMap<String, Vec<(PathBuf, Option<std::time::SystemTime>)>> =
            HashMap::new();
        for f in files {
            if let Some(spec) = self.spec_for(f) {
                let mtime = std::fs::metadata(f).and_then(|m| m.modified()).ok();
                by_language
                    .entry(spec.language.clone())
                    .or_default()
                    .push((f.clone(), mtime));
            }
        }
        for (language, files) in by_language {
            let server = lock(&self.servers).get(&language).cloned();
            if let Some(server) = server {
                server.notice_files(&files).await;
            }
        }
    }

    /// Files under `start` served by an installed language server that mention `word`.
    fn candidates(
        &self,
        word: &str,
        whole_word: bool,
        start: &Path,
        stop: &AtomicBool,
    ) -> Result<(Vec<PathBuf>, bool), LspError> {
        let include: Vec<String> = self
            .specs
            .iter()
            .flat_map(|s| s.extensions.iter().map(|e| format!("*.{e}")))
            .collect();
        let query = Query {
            pattern: word.to_string(),
            literal: true,
            case: if whole_word {
                CaseMode::Sensitive
            } else {
                CaseMode::Insensitive
            },
            whole_word,
            include,
            exclude: Vec::new(),
        };
        let scope = Scope {
            root: self.root.clone(),
            start: start.to_path_buf(),
            max_file_bytes: self.max_file_bytes,
            max_hits: 20_000,
            resume: None,
            deadline: Instant::now() + Duration::from_secs(30),
        };
        let outcome = search::search(&query, &scope, stop).map_err(|e| LspError::Read {
            path: start.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = Vec::new();
        for hit in &outcome.hits {
            let p = self.root.join(&hit.path);
            if files.last() != Some(&p) {
                files.push(p);
            }
        }
        files.dedup();
        let cut = files.len() > MAX_CANDIDATE_FILES || outcome.next.is_some();
        files.truncate(MAX_CANDIDATE_FILES);
        Ok((files, cut))
    }

    /// Symbol tables of `files`, from the cache when the content is unchanged. Files whose
    /// language has no installed server are skipped and named in `completeness`; if none
    /// could be read at all, the first error is returned.
    async fn tables_for(
        &self,
        files: &[PathBuf],
        completeness: &mut Completeness,
    ) -> Result<Vec<Arc<Vec<Symbol>>>, LspError> {
        let results: Vec<Result<Arc<Vec<Symbol>>, LspError>> =
            futures::stream::iter(files.iter().cloned())
                .map(|f| async move { self.table(&f).await })
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
        let mut tables = Vec::new();
        let mut first_error = None;
        let mut missing: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for r in results {
            match r {
                Ok(t) => tables.push(t),
                Err(e) => {
                    match &e {
                        LspError::NotInstalled { language, hint } => {
                            missing
                                .entry(language.clone())
                                .or_insert((0, hint.clone()))
                                .0 += 1;
                        }
                        other => completeness.add(other.to_string()),
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        for (language, (n, hint)) in missing {
            completeness.add(format!(
                "{n} {language} file{} not read: no {language} language server ({hint})",
                if n == 1 { "" } else { "s" }
            ));
        }
        match first_error {
            Some(e) if tables.is_empty() => Err(e),
            _ => Ok(tables),
        }
    }

    async fn table(&self, path: &Path) -> Result<Arc<Vec<Symbol>>, LspError> {
        let server = self.server_for(path)?;
        if let Ok(bytes) = std::fs::read(path) {
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some((h, t)) = lock(&self.tables).get(path)
                && *h == hash
            {
                return Ok(t.clone());
            }
        }
        let doc = server.open(path).await?;
        let value = server
            .request(
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": doc.uri}}),
            )
            .await?;
        let symbols = Arc::new(parse_symbols(&value, path, &doc.text, doc.encoding));
        let hash: [u8; 32] = Sha256::digest(doc.text.as_bytes()).into();
        lock(&self.tables).insert(path.to_path_buf(), (hash, symbols.clone()));
        Ok(symbols)
    }

    /// The outline of one file.
    pub async fn outline(&self, path: &Path) -> Result<Arc<Vec<Symbol>>, LspError> {
        self.table(path).await
    }

    /// Resolves a name to one definition's identifier position, or lists the candidates.
    pub async fn resolve(
        &self,
        name: &str,
        kind: Option<&str>,
        start: &Path,
        pick: Option<usize>,
        stop: &AtomicBool,
        progress: Progress<'_>,
    ) -> Result<Resolved, LspError> {
        let found = self.where_is(name, kind, start, stop, progress).await?;
        let exact: Vec<Symbol> = found
            .symbols
            .into_iter()
            .filter(|(_, m)| *m == Match::Exact)
            .map(|(s, _)| s)
            .collect();
        Ok(match (exact.len(), pick) {
            (0, _) => Resolved::NotFound(found.completeness),
            (1, _) => {
                let s = &exact[0];
                Resolved::At(s.path.clone(), s.sel_line, s.sel_col)
            }
            (_, Some(n)) if n >= 1 && n <= exact.len() => {
                let s = &exact[n - 1];
                Resolved::At(s.path.clone(), s.sel_line, s.sel_col)
            }
            _ => Resolved::Ambiguous(exact),
        })
    }

    /// References to the symbol at `path:line:col` (1-based, characters), declaration
    /// included.
    pub async fn references(
        &self,
        path: &Path,
        line: u32,
        col: u32,
        progress: Progress<'_>,
    ) -> Result<Refs, LspError> {
        let (server, doc, pos) = self.at(path, line, col).await?;
        let completeness = readiness(&server, progress).await;
        let value = server
            .request(
                "textDocument/references",
                json!({"textDocument": {"uri": doc.uri}, "position": pos,
                       "context": {"includeDeclaration": true}}),
            )
            .await?;
        let locations: Vec<Location> = serde_json::from_value(value).unwrap_or_default();
        let mut texts = TextCache::new(&self.root, &doc);
        let mut by_file: BTreeMap<PathBuf, Vec<Place>> = BTreeMap::new();
        for loc in &locations {
            if let Some(place) = texts.place(loc) {
                by_file.entry(place.path.clone()).or_default().push(place);
            }
        }
        for places in by_file.values_mut() {
            places.sort_by_key(|p| (p.line, p.col));
            places.dedup();
        }
        let total = by_file.values().map(Vec::len).sum();
        Ok(Refs {
            target: texts.place_at(path, line, col),
            by_file,
            total,
            completeness,
        })
    }

    /// Where the symbol at `path:line:col` is defined.
    pub async fn definition(
        &self,
        path: &Path,
        line: u32,
        col: u32,
        progress: Progress<'_>,
    ) -> Result<(Vec<Place>, Completeness), LspError> {
        let (server, doc, pos) = self.at(path, line, col).await?;
        let completeness = readiness(&server, progress).await;
        let value = server
            .request(
                "textDocument/definition",
                json!({"textDocument": {"uri": doc.uri}, "position": pos}),
            )
            .await?;
        let locations: Vec<Location> =
            match serde_json::from_value::<Option<GotoDefinitionResponse>>(value) {
                Ok(Some(GotoDefinitionResponse::Scalar(l))) => vec![l],
                Ok(Some(GotoDefinitionResponse::Array(ls))) => ls,
                Ok(Some(GotoDefinitionResponse::Link(links))) => links
                    .into_iter()
                    .map(|l| Location {
                        uri: l.target_uri,
                        range: l.target_selection_range,
                    })
                    .collect(),
                _ => Vec::new(),
            };
        let mut texts = TextCache::new(&self.root, &doc);
        let places = locations.iter().filter_map(|l| texts.place(l)).collect();
        Ok((places, completeness))
    }

    /// The server's hover text at `path:line:col`, as plain text.
    pub async fn hover(
        &self,
        path: &Path,
        line: u32,
        col: u32,
        progress: Progress<'_>,
    ) -> Result<(String, Completeness), LspError> {
        let (server, doc, pos) = self.at(path, line, col).await?;
        let completeness = readiness(&server, progress).await;
        let value = server
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": doc.uri}, "position": pos}),
            )
            .await?;
        let text = match serde_json::from_value::<Option<Hover>>(value) {
            Ok(Some(h)) => hover_text(h.contents),
            _ => String::new(),
        };
        Ok((text, completeness))
    }

    /// Opens `path` and converts a 1-based character position to the server's.
    async fn at(
        &self,
        path: &Path,
        line: u32,
        col: u32,
    ) -> Result<(Arc<Supervisor>, super::lsp::supervisor::Doc, Value), LspError> {
        let server = self.server_for(path)?;
        let doc = server.open(path).await?;
        let l = line.saturating_sub(1);
        let text_line = line_of(&doc.text, l);
        let character = to_server_col(text_line, col.saturating_sub(1), doc.encoding);
        Ok((server, doc, json!({"line": l, "character": character})))
    }
}

async fn readiness(server: &Supervisor, progress: Progress<'_>) -> Completeness {
    match server.wait_ready(progress).await {
        Readiness::Ready => Completeness::Complete,
        Readiness::Indexing(what) => Completeness::Partial(format!("indexing: {what}")),
    }
}

/// Reads the text of files named in locations (for context lines and column conversion).
struct TextCache<'a> {
    root: &'a Path,
    encoding: Encoding,
    texts: HashMap<PathBuf, Option<Arc<str>>>,
}

impl<'a> TextCache<'a> {
    fn new(root: &'a Path, doc: &super::lsp::supervisor::Doc) -> Self {
        let mut texts = HashMap::new();
        texts.insert(doc.path.clone(), Some(doc.text.clone()));
        Self {
            root,
            encoding: doc.encoding,
            texts,
        }
    }

    fn text(&mut self, path: &Path) -> Option<Arc<str>> {
        self.texts
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let meta = std::fs::metadata(path).ok()?;
                if meta.len() > 8 << 20 {
                    return None;
                }
                std::fs::read_to_string(path).ok().map(Arc::from)
            })
            .clone()
    }

    fn place(&mut self, loc: &Location) -> Option<Place> {
        let path = uri_to_path(loc.uri.as_str())?;
        let line = loc.range.start.line;
        if !path.starts_with(self.root) {
            return Some(Place {
                path,
                line: line + 1,
                col: loc.range.start.character + 1,
                context: String::new(),
            });
        }
        let text = self.text(&path);
        let (col, context) = match &text {
            Some(t) => {
                let l = line_of(t, line);
                (
                    from_server_col(l, loc.range.start.character, self.encoding),
                    clip(l.trim()),
                )
            }
            None => (loc.range.start.character, String::new()),
        };
        Some(Place {
            path,
            line: line + 1,
            col: col + 1,
            context,
        })
    }

    fn place_at(&mut self, path: &Path, line: u32, col: u32) -> Place {
        let context = self
            .text(path)
            .map(|t| clip(line_of(&t, line.saturating_sub(1)).trim()))
            .unwrap_or_default();
        Place {
            path: path.to_path_buf(),
            line,
            col,
            context,
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= CONTEXT_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(CONTEXT_CHARS).collect();
    out.push('…');
    out
}

/// Exact: the name, `Container.name`, or a suffix of the qualified name at a dot boundary.
/// Fuzzy: the last segment appears in the name, ignoring case.
fn match_symbol(s: &Symbol, query: &str) -> Option<Match> {
    if s.name == query {
        return Some(Match::Exact);
    }
    let qualified = s.qualified();
    if qualified == query || qualified.ends_with(&format!(".{query}")) {
        return Some(Match::Exact);
    }
    let word = query.rsplit('.').next().unwrap_or(query).to_lowercase();
    (!word.is_empty() && s.name.to_lowercase().contains(&word)).then_some(Match::Fuzzy)
}

/// Flattens a `documentSymbol` answer (hierarchical or flat) into 1-based symbols.
pub fn parse_symbols(value: &Value, path: &Path, text: &str, enc: Encoding) -> Vec<Symbol> {
    let mut out = Vec::new();
    match serde_json::from_value::<Option<DocumentSymbolResponse>>(value.clone()) {
        Ok(Some(DocumentSymbolResponse::Nested(items))) => {
            fn walk(
                items: &[DocumentSymbol],
                container: Option<&str>,
                depth: u32,
                path: &Path,
                text: &str,
                enc: Encoding,
                out: &mut Vec<Symbol>,
            ) {
                let mut items: Vec<&DocumentSymbol> = items.iter().collect();
                items.sort_by_key(|d| (d.range.start.line, d.range.start.character));
                for d in items {
                    let sel = d.selection_range.start;
                    let line = line_of(text, d.range.start.line).trim_start();
                    out.push(Symbol {
                        import: is_import(line, kind_name(d.kind)),
                        name: d.name.clone(),
                        kind: kind_name(d.kind),
                        container: container.map(str::to_string),
                        path: path.to_path_buf(),
                        line: d.range.start.line + 1,
                        end_line: d.range.end.line + 1,
                        sel_line: sel.line + 1,
                        sel_col: from_server_col(line_of(text, sel.line), sel.character, enc) + 1,
                        depth,
                    });
                    if let Some(children) = &d.children {
                        let inner = match container {
                            Some(c) => format!("{c}.{}", d.name),
                            None => d.name.clone(),
                        };
                        walk(children, Some(&inner), depth + 1, path, text, enc, out);
                    }
                }
            }
            walk(&items, None, 0, path, text, enc, &mut out);
        }
        Ok(Some(DocumentSymbolResponse::Flat(items))) => {
            for i in items {
                let start = i.location.range.start;
                // Flat answers carry no selection range: find the name on its line.
                let l = line_of(text, start.line);
                let from = from_server_col(l, start.character, enc);
                let rest: String = l.chars().skip(from as usize).collect();
                let col = rest
                    .find(&i.name)
                    .map_or(from, |byte| from + rest[..byte].chars().count() as u32);
                out.push(Symbol {
                    import: is_import(l.trim_start(), kind_name(i.kind)),
                    name: i.name,
                    kind: kind_name(i.kind),
                    container: i.container_name.filter(|c| !c.is_empty()),
                    path: path.to_path_buf(),
                    line: start.line + 1,
                    end_line: i.location.range.end.line + 1,
                    sel_line: start.line + 1,
                    sel_col: col + 1,
                    depth: 0,
                });
            }
        }
        _ => {}
    }
    out
}

/// Whether a variable-like symbol on `line` is an import binding (`import { a } from`,
/// `from m import a`, `import a`), which TypeScript 7 and others list as symbols.
fn is_import(line: &str, kind: &str) -> bool {
    matches!(
        kind,
        "variable" | "constant" | "module" | "class" | "function" | "interface"
    ) && (line.starts_with("import ")
        || line.starts_with("from ")
        || line.starts_with("export {")
        || line.starts_with("export * "))
}

fn hover_text(contents: HoverContents) -> String {
    fn marked(m: MarkedString) -> String {
        match m {
            MarkedString::String(s) => s,
            MarkedString::LanguageString(l) => l.value,
        }
    }
    match contents {
        HoverContents::Scalar(m) => marked(m),
        HoverContents::Array(ms) => ms.into_iter().map(marked).collect::<Vec<_>>().join("\n"),
        HoverContents::Markup(m) => m.value,
    }
    .lines()
    .filter(|l| !l.trim_start().starts_with("```"))
    .collect::<Vec<_>>()
    .join("\n")
    .trim()
    .to_string()
}

/// The lower-case name of an LSP symbol kind.
pub fn kind_name(kind: SymbolKind) -> &'static str {
    const NAMES: [&str; 26] = [
        "file",
        "module",
        "namespace",
        "package",
        "class",
        "method",
        "property",
        "field",
        "constructor",
        "enum",
        "interface",
        "function",
        "variable",
        "constant",
        "string",
        "number",
        "boolean",
        "array",
        "object",
        "key",
        "null",
        "enum_member",
        "struct",
        "event",
        "operator",
        "type_parameter",
    ];
    let n = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as usize;
    NAMES.get(n.wrapping_sub(1)).copied().unwrap_or("symbol")
}
