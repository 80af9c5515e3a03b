//! Symbol tools answered by language servers: `code_where_is`, `code_references`,
//! `code_definition`, `code_outline`, `code_hover`. Every answer states `complete` or
//! `partial (why)`, so an empty list is never silent.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::code::path_error;
use super::{CallContext, Reply, Services, ToolError, ToolSpec, spec, structured};
use crate::code::lsp::supervisor::LspError;
use crate::code::symbols::{Completeness, Match, Place, Resolved, Symbol};
use crate::render::{Budget, clip, decode_cursor, encode_cursor};
use crate::toolset::Toolset;

/// Tool names (public API).
pub const WHERE_IS: &str = "code_where_is";
pub const REFERENCES: &str = "code_references";
pub const DEFINITION: &str = "code_definition";
pub const OUTLINE: &str = "code_outline";
pub const HOVER: &str = "code_hover";

const DEFAULT_LIMIT: u32 = 30;
const DEFAULT_REF_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 500;

/// Parameters of `code_where_is`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhereIsParams {
    /// Name to find, e.g. `monthly_total_cents`, `Invoice.total`, `aws_db_instance.main`.
    pub symbol: String,
    /// Only this kind: function, method, class, interface, variable, constant, property, …
    #[serde(default)]
    pub kind: Option<String>,
    /// Directory or file to look in, relative to the workspace root (default: all).
    #[serde(default)]
    pub path: Option<String>,
    /// Most definitions to list (default 30).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A definition.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SymbolOut {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// False for a fuzzy (substring) match.
    pub exact: bool,
}

/// Result of `code_where_is`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WhereIsResult {
    pub definitions: Vec<SymbolOut>,
    /// `complete`, or `partial (why)`.
    pub status: String,
    pub complete: bool,
    /// Files whose symbols were read.
    pub files_read: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Parameters of `code_references`: a `symbol`, or a `path` + `line` + `column`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferencesParams {
    /// Name of the symbol (resolved to its definition first).
    #[serde(default)]
    pub symbol: Option<String>,
    /// With `symbol`: only definitions of this kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// With `symbol`: which of several definitions (the number shown when ambiguous).
    #[serde(default)]
    pub pick: Option<u32>,
    /// With `symbol`: where to look for the definition; with `line`/`column`: the file.
    #[serde(default)]
    pub path: Option<String>,
    /// 1-based line of the identifier.
    #[serde(default)]
    pub line: Option<u32>,
    /// 1-based column (characters) of the identifier.
    #[serde(default)]
    pub column: Option<u32>,
    /// Most reference lines to show (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` from a previous answer to the same question.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A place in the code with its line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlaceOut {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub text: String,
}

/// References in one file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileRefs {
    pub path: String,
    /// All references in the file (some may be past the budget).
    pub count: usize,
    pub refs: Vec<PlaceOut>,
}

/// Result of `code_references`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReferencesResult {
    /// The definition asked about (absent when the name was ambiguous or not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<PlaceOut>,
    /// References in all files, the declaration included.
    pub total: usize,
    pub files: Vec<FileRefs>,
    /// When the name is ambiguous: the definitions to `pick` from (1-based, in order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<SymbolOut>,
    pub status: String,
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A position in a file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionParams {
    /// File, relative to the workspace root.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// Result of `code_definition`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DefinitionResult {
    pub definitions: Vec<PlaceOut>,
    pub status: String,
    pub complete: bool,
}

/// Result of `code_hover`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HoverResult {
    /// Type and documentation, as plain text; empty when the server has none.
    pub text: String,
    pub status: String,
    pub complete: bool,
}

/// Parameters of `code_outline`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutlineParams {
    /// File, relative to the workspace root.
    pub path: String,
    /// Deepest nesting level to show (0 = top level only; default all).
    #[serde(default)]
    pub depth: Option<u32>,
}

/// One outline entry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutlineItem {
    pub line: u32,
    pub end_line: u32,
    pub kind: String,
    pub name: String,
    pub depth: u32,
}

/// Result of `code_outline`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutlineResult {
    pub symbols: Vec<OutlineItem>,
    /// Symbols left out by `depth` or the output budget.
    pub omitted: usize,
    pub status: String,
    pub complete: bool,
}

/// Published specs.
pub fn where_is_spec() -> ToolSpec {
    spec::<WhereIsParams, WhereIsResult>(
        WHERE_IS,
        "Find where a symbol is defined",
        "Definitions of a name via language servers, exact before fuzzy: `path:line kind name`.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

pub fn references_spec() -> ToolSpec {
    spec::<ReferencesParams, ReferencesResult>(
        REFERENCES,
        "Find references to a symbol",
        "Real references (not text matches) to a symbol or to path+line+column, grouped by file.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

pub fn definition_spec() -> ToolSpec {
    spec::<PositionParams, DefinitionResult>(
        DEFINITION,
        "Go to definition",
        "Where the symbol at path+line+column is defined.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

pub fn outline_spec() -> ToolSpec {
    spec::<OutlineParams, OutlineResult>(
        OUTLINE,
        "Outline a file",
        "A file's symbols, nested, one line each: `line kind name`.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

pub fn hover_spec() -> ToolSpec {
    spec::<PositionParams, HoverResult>(
        HOVER,
        "Type and docs at a position",
        "The language server's hover (type, signature, docs) at path+line+column.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

fn status(c: &Completeness) -> (String, bool) {
    match c {
        Completeness::Complete => ("complete".into(), true),
        Completeness::Partial(why) => (format!("partial ({why})"), false),
    }
}

fn lsp_error(what: &str, e: LspError) -> ToolError {
    let next = match &e {
        LspError::NotInstalled { hint, .. } => {
            format!("install it ({hint}); code_search still finds text meanwhile")
        }
        LspError::Start { .. } => {
            "check that the server runs from a terminal, or set its command with [[lsp.server]] in fathom.toml".into()
        }
        LspError::Rpc { source, .. } => match source {
            crate::code::lsp::rpc::RpcError::Timeout { .. } => {
                "the server was restarted; retry, and if it times out again narrow `path` or raise lsp.request_timeout_secs".into()
            }
            crate::code::lsp::rpc::RpcError::Closed => {
                "the server restarts on the next call; retry".into()
            }
            crate::code::lsp::rpc::RpcError::Server { .. } => {
                "check the position points at an identifier, or retry".into()
            }
        },
        LspError::Backoff { secs, .. } => format!("retry in {secs} s; code_search works meanwhile"),
        LspError::Read { .. } => "check the path names a text source file".into(),
    };
    ToolError::new(what, e.to_string(), next)
}

fn shown(services: &Services, path: &Path) -> String {
    if path.starts_with(services.workspace.root()) {
        services.workspace.display(path)
    } else {
        format!(
            "(outside workspace)/{}",
            path.file_name().map_or("?".into(), |n| n.to_string_lossy())
        )
    }
}

fn symbol_out(services: &Services, s: &Symbol, exact: bool) -> SymbolOut {
    SymbolOut {
        path: shown(services, &s.path),
        line: s.sel_line,
        column: s.sel_col,
        kind: s.kind.to_string(),
        name: s.name.clone(),
        container: s.container.clone(),
        exact,
    }
}

fn place_out(services: &Services, p: &Place) -> PlaceOut {
    PlaceOut {
        path: shown(services, &p.path),
        line: p.line,
        column: p.col,
        text: p.context.clone(),
    }
}

fn symbol_line(s: &SymbolOut) -> String {
    let name = match &s.container {
        Some(c) => format!("{c}.{}", s.name),
        None => s.name.clone(),
    };
    format!("{}:{} {} {name}", s.path, s.line, s.kind)
}

fn start_of(services: &Services, what: &str, path: Option<&str>) -> Result<PathBuf, ToolError> {
    match path.filter(|p| !p.is_empty()) {
        Some(p) => services
            .workspace
            .resolve(p)
            .map_err(|e| path_error(what, e)),
        None => Ok(services.workspace.root().to_path_buf()),
    }
}

fn file_arg(services: &Services, what: &str, path: &str) -> Result<PathBuf, ToolError> {
    let p = start_of(services, what, Some(path))?;
    if !p.is_file() {
        return Err(ToolError::new(
            what,
            format!("`{path}` is not a file"),
            "pass a source file, e.g. from code_where_is or code_search",
        ));
    }
    Ok(p)
}

/// Runs `fut` unless the client cancels first.
async fn cancellable<T>(
    ctx: &CallContext,
    what: &str,
    stop: &AtomicBool,
    fut: impl std::future::Future<Output = Result<T, LspError>>,
) -> Result<T, ToolError> {
    tokio::select! {
        r = fut => r.map_err(|e| lsp_error(what, e)),
        _ = ctx.cancel.cancelled() => {
            stop.store(true, Ordering::Relaxed);
            Err(ToolError::new(what, "cancelled by the client", "nothing to do"))
        }
    }
}

fn reporter(ctx: &CallContext) -> impl Fn(String) + Send + Sync + '_ {
    move |m: String| {
        if let Some(p) = &ctx.progress {
            p(m);
        }
    }
}

/// Runs `code_where_is`.
pub async fn where_is(
    services: &Arc<Services>,
    params: WhereIsParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = format!("code_where_is `{}`", clip(&params.symbol, 80));
    if params.symbol.trim().is_empty() {
        return Err(ToolError::new(what, "`symbol` is empty", "pass a name"));
    }
    let start = start_of(services, &what, params.path.as_deref())?;
    let stop = AtomicBool::new(false);
    let report = reporter(ctx);
    let found = cancellable(
        ctx,
        &what,
        &stop,
        services.symbols.where_is(
            params.symbol.trim(),
            params.kind.as_deref(),
            &start,
            &stop,
            &report,
        ),
    )
    .await?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let (status, complete) = status(&found.completeness);
    let exact = found
        .symbols
        .iter()
        .filter(|(_, m)| *m == Match::Exact)
        .count();
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(300);
    let mut body = String::new();
    let mut definitions = Vec::new();
    for (s, m) in found.symbols.iter().take(limit) {
        let out = symbol_out(services, s, *m == Match::Exact);
        let prefix = if *m == Match::Fuzzy { "~ " } else { "" };
        if !budget.push(&mut body, &format!("{prefix}{}", symbol_line(&out))) {
            break;
        }
        definitions.push(out);
    }
    let hint = if found.symbols.is_empty() {
        Some(if complete {
            "no definition by that name; try code_search for text, or drop `kind`".to_string()
        } else {
            "the server is still indexing or some files were skipped; retry shortly".to_string()
        })
    } else if definitions.len() < found.symbols.len() {
        Some(format!(
            "{} more; narrow with `path` or `kind`",
            found.symbols.len() - definitions.len()
        ))
    } else {
        None
    };
    let mut text = format!(
        "{} definition{} of {} ({} exact; {} file{} read; {status})\n",
        found.symbols.len(),
        if found.symbols.len() == 1 { "" } else { "s" },
        params.symbol.trim(),
        exact,
        found.files,
        if found.files == 1 { "" } else { "s" },
    );
    text.push_str(&body);
    if let Some(h) = &hint {
        text.push_str(&format!("hint: {h}\n"));
    }
    let result = WhereIsResult {
        definitions,
        status,
        complete,
        files_read: found.files,
        hint,
    };
    Ok(Reply {
        text,
        structured: structured(&result),
    })
}

#[derive(Debug, Serialize, Deserialize)]
struct RefCursor {
    skip: usize,
    at: String,
}

/// Runs `code_references`.
pub async fn references(
    services: &Arc<Services>,
    params: ReferencesParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = match (&params.symbol, &params.path, params.line) {
        (Some(s), _, _) => format!("code_references `{}`", clip(s, 80)),
        (None, Some(p), Some(l)) => format!("code_references {p}:{l}"),
        _ => "code_references".to_string(),
    };
    let stop = AtomicBool::new(false);
    let report = reporter(ctx);
    let (path, line, col) = match (&params.line, &params.column, &params.symbol) {
        (Some(line), Some(col), _) => {
            let Some(p) = params.path.as_deref() else {
                return Err(ToolError::new(
                    what,
                    "`line` and `column` need `path`",
                    "pass path, line and column of the identifier, or a `symbol`",
                ));
            };
            (file_arg(services, &what, p)?, *line, *col)
        }
        (None, None, Some(symbol)) if !symbol.trim().is_empty() => {
            let start = start_of(services, &what, params.path.as_deref())?;
            let resolved = cancellable(
                ctx,
                &what,
                &stop,
                services.symbols.resolve(
                    symbol.trim(),
                    params.kind.as_deref(),
                    &start,
                    params.pick.map(|p| p as usize),
                    &stop,
                    &report,
                ),
            )
            .await?;
            match resolved {
                Resolved::At(p, l, c) => (p, l, c),
                Resolved::NotFound(c) => {
                    let (status, complete) = status(&c);
                    return Err(ToolError::new(
                        what,
                        format!(
                            "no definition named `{}` was found ({status})",
                            symbol.trim()
                        ),
                        if complete {
                            "check the spelling with code_where_is (it also lists fuzzy matches), or use code_search"
                        } else {
                            "retry shortly (the server is indexing), or pass path+line+column"
                        },
                    ));
                }
                Resolved::Ambiguous(list) => return Ok(ambiguous(services, symbol, &list)),
            }
        }
        _ => {
            return Err(ToolError::new(
                what,
                "pass either `symbol`, or `path` with `line` and `column`",
                "e.g. {\"symbol\": \"monthly_total_cents\"} or {\"path\": \"src/a.ts\", \"line\": 3, \"column\": 17}",
            ));
        }
    };
    if line == 0 || col == 0 {
        return Err(ToolError::new(
            what,
            "`line` and `column` count from 1",
            "pass 1-based positions",
        ));
    }
    let refs = cancellable(
        ctx,
        &what,
        &stop,
        services.symbols.references(&path, line, col, &report),
    )
    .await?;
    let at = format!("{}:{line}:{col}", shown(services, &path));
    let skip = match &params.cursor {
        None => 0,
        Some(token) => {
            let c: RefCursor = decode_cursor(token)
                .filter(|c: &RefCursor| c.at == at)
                .ok_or_else(|| {
                    ToolError::new(
                        what.clone(),
                        "the cursor belongs to a different question",
                        "repeat the same arguments with next_cursor, or drop cursor",
                    )
                })?;
            c.skip
        }
    };
    let limit = params
        .limit
        .unwrap_or(DEFAULT_REF_LIMIT)
        .clamp(1, MAX_LIMIT) as usize;
    let (status, complete) = status(&refs.completeness);
    let target = place_out(services, &refs.target);
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(400);
    let mut body = String::new();
    let mut files = Vec::new();
    let mut index = 0usize;
    let mut shown_n = 0usize;
    let mut next = None;
    'files: for (file, places) in &refs.by_file {
        let mut out = FileRefs {
            path: shown(services, file),
            count: places.len(),
            refs: Vec::new(),
        };
        for p in places {
            index += 1;
            if index <= skip {
                continue;
            }
            let header = out.refs.is_empty();
            let line = format!("  {}:{} {}", p.line, p.col, p.context);
            let cost = line.len() + if header { out.path.len() + 12 } else { 0 };
            if shown_n >= limit || !budget.fits(cost + 1) {
                next = Some(index - 1);
                if !out.refs.is_empty() {
                    files.push(out);
                }
                break 'files;
            }
            if header {
                budget.push(&mut body, &format!("{} ({})", out.path, out.count));
            }
            budget.push(&mut body, &line);
            out.refs.push(place_out(services, p));
            shown_n += 1;
        }
        if !out.refs.is_empty() {
            files.push(out);
        }
    }
    let next_cursor = next.map(|skip| {
        encode_cursor(&RefCursor {
            skip,
            at: at.clone(),
        })
    });
    let mut text = format!(
        "{} reference{} in {} file{} to {} `{}` ({status})\n",
        refs.total,
        if refs.total == 1 { "" } else { "s" },
        refs.by_file.len(),
        if refs.by_file.len() == 1 { "" } else { "s" },
        at,
        target.text,
    );
    text.push_str(&body);
    if let Some(c) = &next_cursor {
        text.push_str(&format!("next_cursor: {c}\n"));
    }
    let result = ReferencesResult {
        target: Some(target),
        total: refs.total,
        files,
        candidates: Vec::new(),
        status,
        complete,
        next_cursor,
    };
    Ok(Reply {
        text,
        structured: structured(&result),
    })
}

fn ambiguous(services: &Services, symbol: &str, list: &[Symbol]) -> Reply {
    let candidates: Vec<SymbolOut> = list.iter().map(|s| symbol_out(services, s, true)).collect();
    let mut text = format!(
        "`{}` has {} definitions; call again with pick: N (or path+line+column)\n",
        symbol.trim(),
        candidates.len()
    );
    for (i, c) in candidates.iter().enumerate().take(50) {
        text.push_str(&format!("{}. {}\n", i + 1, symbol_line(c)));
    }
    let result = ReferencesResult {
        target: None,
        total: 0,
        files: Vec::new(),
        candidates,
        status: "ambiguous".into(),
        complete: false,
        next_cursor: None,
    };
    Reply {
        text,
        structured: structured(&result),
    }
}

fn position(services: &Services, what: &str, p: &PositionParams) -> Result<PathBuf, ToolError> {
    if p.line == 0 || p.column == 0 {
        return Err(ToolError::new(
            what,
            "`line` and `column` count from 1",
            "pass 1-based positions",
        ));
    }
    file_arg(services, what, &p.path)
}

/// Runs `code_definition`.
pub async fn definition(
    services: &Arc<Services>,
    params: PositionParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = format!(
        "code_definition {}:{}:{}",
        params.path, params.line, params.column
    );
    let path = position(services, &what, &params)?;
    let stop = AtomicBool::new(false);
    let report = reporter(ctx);
    let (places, completeness) = cancellable(
        ctx,
        &what,
        &stop,
        services
            .symbols
            .definition(&path, params.line, params.column, &report),
    )
    .await?;
    let (status, complete) = status(&completeness);
    let definitions: Vec<PlaceOut> = places.iter().map(|p| place_out(services, p)).collect();
    let mut text = format!(
        "{} definition{} ({status})\n",
        definitions.len(),
        if definitions.len() == 1 { "" } else { "s" }
    );
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(text.len() + 100);
    for d in &definitions {
        if !budget.push(
            &mut text,
            &format!("{}:{}:{} {}", d.path, d.line, d.column, d.text),
        ) {
            break;
        }
    }
    if definitions.is_empty() {
        text.push_str("hint: no symbol with a definition at that position; check line and column (1-based, characters)\n");
    }
    Ok(Reply {
        text,
        structured: structured(&DefinitionResult {
            definitions,
            status,
            complete,
        }),
    })
}

/// Runs `code_hover`.
pub async fn hover(
    services: &Arc<Services>,
    params: PositionParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = format!(
        "code_hover {}:{}:{}",
        params.path, params.line, params.column
    );
    let path = position(services, &what, &params)?;
    let stop = AtomicBool::new(false);
    let report = reporter(ctx);
    let (hover, completeness) = cancellable(
        ctx,
        &what,
        &stop,
        services
            .symbols
            .hover(&path, params.line, params.column, &report),
    )
    .await?;
    let (status, complete) = status(&completeness);
    let hover = crate::render::cap_text(hover, ctx.budget.saturating_sub(200));
    let text = if hover.is_empty() {
        format!("no hover information at that position ({status})\n")
    } else {
        format!("{hover}\n({status})\n")
    };
    Ok(Reply {
        text,
        structured: structured(&HoverResult {
            text: hover,
            status,
            complete,
        }),
    })
}

/// Runs `code_outline`.
pub async fn outline(
    services: &Arc<Services>,
    params: OutlineParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = format!("code_outline {}", params.path);
    let path = file_arg(services, &what, &params.path)?;
    let stop = AtomicBool::new(false);
    let symbols = cancellable(ctx, &what, &stop, services.symbols.outline(&path)).await?;
    let max_depth = params.depth.unwrap_or(u32::MAX);
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(200);
    let mut body = String::new();
    let mut items = Vec::new();
    for s in symbols.iter().filter(|s| s.depth <= max_depth) {
        let line = format!(
            "{}{} {} {}",
            "  ".repeat(s.depth as usize),
            s.line,
            s.kind,
            s.name
        );
        if !budget.push(&mut body, &line) {
            break;
        }
        items.push(OutlineItem {
            line: s.line,
            end_line: s.end_line,
            kind: s.kind.to_string(),
            name: s.name.clone(),
            depth: s.depth,
        });
    }
    let omitted = symbols.len() - items.len();
    let mut text = format!(
        "{} symbol{} in {} (complete)\n",
        symbols.len(),
        if symbols.len() == 1 { "" } else { "s" },
        shown(services, &path)
    );
    text.push_str(&body);
    if omitted > 0 {
        text.push_str(&format!("{omitted} not shown; pass a smaller `depth`\n"));
    }
    Ok(Reply {
        text,
        structured: structured(&OutlineResult {
            symbols: items,
            omitted,
            status: "complete".into(),
            complete: true,
        }),
    })
}
