//! Code tools. For now `code_search`, the text search every other code tool falls back to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{CallContext, Reply, Services, ToolError, ToolSpec, spec, structured};
use crate::code::search::{self, CaseMode, Position, Query, Scope, SearchError};
use crate::render::{Budget, decode_cursor, encode_cursor};
use crate::toolset::Toolset;
use crate::workspace::PathError;

/// Tool name (public API).
pub const SEARCH: &str = "code_search";

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// Parameters of `code_search`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Regular expression (Rust syntax), or a fixed string when `literal` is true.
    pub query: String,
    /// Treat `query` as a fixed string.
    #[serde(default)]
    pub literal: bool,
    /// Letter case: smart (default: insensitive unless the query has capitals), sensitive, insensitive.
    #[serde(default)]
    pub case: CaseMode,
    /// Match whole words only.
    #[serde(default)]
    pub whole_word: bool,
    /// Directory or file to search, relative to the workspace root (default: the root).
    #[serde(default)]
    pub path: Option<String>,
    /// Only files matching one of these globs, e.g. `*.ts`, `src/**`.
    #[serde(default)]
    pub include: Vec<String>,
    /// Skip files matching these globs.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Most matches to return (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` from a previous answer to the same query.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One matching line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchMatch {
    /// Workspace-relative path.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line, trimmed and clipped.
    pub text: String,
}

/// Result of `code_search`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchResult {
    /// Matches in file order.
    pub matches: Vec<SearchMatch>,
    /// Distinct files among `matches`.
    pub files_with_matches: usize,
    /// Files searched for this answer.
    pub files_searched: usize,
    /// True when no further matches exist past this answer.
    pub complete: bool,
    /// Pass as `cursor` to continue exactly after the last match shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// How to narrow or widen the search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What a cursor carries: where to resume and which query it belongs to.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    p: String,
    s: usize,
    q: String,
}

/// Published spec of `code_search`.
pub fn search_spec() -> ToolSpec {
    spec::<SearchParams, SearchResult>(
        SEARCH,
        "Search code text",
        "Regex or literal text search over the workspace (gitignore-aware, binaries skipped). \
         Matches grouped by file; pass next_cursor to continue.",
        Toolset::Code,
        true,
        false,
        false,
    )
}

/// Runs `code_search`.
pub async fn search(
    services: &Arc<Services>,
    params: SearchParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let what = format!("code_search `{}`", crate::render::clip(&params.query, 80));
    let ws = &services.workspace;
    let start = match params.path.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => ws.resolve(p).map_err(|e| path_error(&what, e))?,
        None => ws.root().to_path_buf(),
    };
    let fingerprint = fingerprint(&params);
    let resume = match &params.cursor {
        None => None,
        Some(token) => {
            let cursor: Cursor = decode_cursor(token).ok_or_else(|| {
                ToolError::new(
                    what.clone(),
                    "the cursor is not one this tool issued",
                    "pass next_cursor exactly as returned, or drop cursor to start over",
                )
            })?;
            if cursor.q != fingerprint {
                return Err(ToolError::new(
                    what,
                    "the cursor belongs to a different query",
                    "repeat the same query, path and filters with this cursor, or drop cursor",
                ));
            }
            Some(Position {
                path: cursor.p,
                skip: cursor.s,
            })
        }
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let query = Query {
        pattern: params.query.clone(),
        literal: params.literal,
        case: params.case,
        whole_word: params.whole_word,
        include: params.include.clone(),
        exclude: params.exclude.clone(),
    };
    let matcher = search::matcher(&query).map_err(|e| search_error(&what, e))?;
    let scope = Scope {
        root: ws.root().to_path_buf(),
        start,
        max_file_bytes: services.config.search.max_file_bytes,
        max_hits: limit,
        resume,
        deadline: Instant::now() + Duration::from_secs(services.config.search.timeout_secs),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let worker_stop = stop.clone();
    let job = tokio::task::spawn_blocking(move || {
        search::search_with(&matcher, &query, &scope, &worker_stop)
    });
    let outcome = tokio::select! {
        joined = job => match joined {
            Ok(result) => result.map_err(|e| search_error(&what, e))?,
            Err(e) => return Err(ToolError::new(what, format!("the search stopped unexpectedly: {e}"), "retry; if it repeats, narrow `path`")),
        },
        _ = ctx.cancel.cancelled() => {
            stop.store(true, Ordering::Relaxed);
            return Err(ToolError::new(what, "cancelled by the client", "nothing to do"));
        }
    };
    Ok(render(&params, outcome, &fingerprint, ctx.budget))
}

fn render(
    params: &SearchParams,
    outcome: search::Outcome,
    fingerprint: &str,
    budget: usize,
) -> Reply {
    let mut budget = Budget::new(budget);
    budget.reserve(400); // header and footer
    let mut body = String::new();
    let mut shown: Vec<SearchMatch> = Vec::new();
    let mut next = outcome.next.clone();
    let mut current_file: Option<String> = None;
    for hit in &outcome.hits {
        let mut lines = String::new();
        if current_file.as_deref() != Some(hit.path.as_str()) {
            lines.push_str(&hit.path);
            lines.push('\n');
        }
        lines.push_str(&format!("  {}: {}", hit.line, hit.text));
        if !budget.push(&mut body, &lines) {
            next = Some(Position {
                path: hit.path.clone(),
                skip: hit.nth,
            });
            break;
        }
        current_file = Some(hit.path.clone());
        shown.push(SearchMatch {
            path: hit.path.clone(),
            line: hit.line,
            text: hit.text.clone(),
        });
    }
    let files_with_matches = {
        let mut paths: Vec<&str> = shown.iter().map(|m| m.path.as_str()).collect();
        paths.dedup();
        paths.len()
    };
    let next_cursor = next.map(|pos| {
        encode_cursor(&Cursor {
            p: pos.path,
            s: pos.skip,
            q: fingerprint.to_string(),
        })
    });
    let complete = next_cursor.is_none() && !outcome.interrupted;
    let hint = if shown.is_empty() && complete {
        Some(no_match_hint(params))
    } else if next_cursor.is_some() {
        Some("more matches: pass next_cursor, or narrow with path/include/whole_word".to_string())
    } else {
        None
    };
    let resumed = if params.cursor.is_some() {
        " (continued)"
    } else {
        ""
    };
    let state = if outcome.interrupted {
        "partial: search stopped at the time limit"
    } else if next_cursor.is_some() {
        "partial: more matches"
    } else {
        "complete"
    };
    let mut text = format!(
        "{} match{} in {} file{}{resumed} ({} file{} searched; {state})\n",
        shown.len(),
        if shown.len() == 1 { "" } else { "es" },
        files_with_matches,
        if files_with_matches == 1 { "" } else { "s" },
        outcome.files_searched,
        if outcome.files_searched == 1 { "" } else { "s" },
    );
    text.push_str(&body);
    if let Some(cursor) = &next_cursor {
        text.push_str(&format!("next_cursor: {cursor}\n"));
    }
    if let Some(h) = &hint
        && shown.is_empty()
    {
        text.push_str(&format!("hint: {h}\n"));
    }
    let result = SearchResult {
        matches: shown,
        files_with_matches,
        files_searched: outcome.files_searched,
        complete,
        next_cursor,
        hint,
    };
    Reply {
        text,
        structured: structured(&result),
    }
}

fn no_match_hint(params: &SearchParams) -> String {
    let mut tips = Vec::new();
    if params.case == CaseMode::Sensitive {
        tips.push("try case: insensitive");
    }
    if params.whole_word {
        tips.push("drop whole_word");
    }
    if !params.literal
        && params
            .query
            .contains(['(', '[', '.', '*', '+', '?', '{', '\\', '|'])
    {
        tips.push("set literal: true if the query is plain text");
    }
    if !params.include.is_empty() || !params.exclude.is_empty() || params.path.is_some() {
        tips.push("widen path/include/exclude");
    }
    if tips.is_empty() {
        "no file contains it (gitignored, hidden and binary files are not searched)".to_string()
    } else {
        tips.join("; ")
    }
}

fn fingerprint(p: &SearchParams) -> String {
    let key = serde_json::json!([
        p.query,
        p.literal,
        p.case,
        p.whole_word,
        p.path,
        p.include,
        p.exclude
    ]);
    hex::encode(&Sha256::digest(key.to_string().as_bytes())[..6])
}

pub(crate) fn path_error(what: &str, e: PathError) -> ToolError {
    let next = match e {
        PathError::Outside(_) => "pass a path relative to the workspace root, without `..`",
        PathError::Missing(_) => "check the path; omit `path` to search the whole workspace",
        PathError::Io { .. } => "check the path's permissions, or search another path",
    };
    ToolError::new(what, e.to_string(), next)
}

fn search_error(what: &str, e: SearchError) -> ToolError {
    let next = match e {
        SearchError::InvalidPattern(_) => {
            "escape regex metacharacters with `\\`, or pass literal: true to search plain text"
        }
        SearchError::InvalidGlob { .. } => "use globs like `*.ts` or `src/**/*.py`",
        SearchError::EmptyPattern => "pass a non-empty query",
    };
    ToolError::new(what, e.to_string(), next)
}
