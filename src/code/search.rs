//! Text search over the workspace at library speed: a parallel, gitignore-aware walk
//! (`ignore`) and line-oriented matching (`grep-searcher` + `grep-regex`), as ripgrep does.
//!
//! Results come back in a stable order (files sorted by path, lines ascending), so a
//! [`Position`] names exactly where a capped answer stopped and the next call continues there.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, SearcherBuilder, sinks::Lossy};
use ignore::{WalkBuilder, WalkState, overrides::OverrideBuilder};
use serde::{Deserialize, Serialize};

use crate::render::{MAX_LINE_CHARS, clip};

/// How letter case is treated.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CaseMode {
    /// Case-insensitive unless the pattern has an upper-case letter.
    #[default]
    Smart,
    /// Exact case.
    Sensitive,
    /// Ignore case.
    Insensitive,
}

/// Where a search starts or resumes: the first hit not yet returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Workspace-relative path of the file.
    pub path: String,
    /// Number of hits in that file already returned.
    pub skip: usize,
}

/// One search.
#[derive(Debug, Clone)]
pub struct Query {
    pub pattern: String,
    pub literal: bool,
    pub case: CaseMode,
    pub whole_word: bool,
    /// Globs a file must match (any of), relative to `start`.
    pub include: Vec<String>,
    /// Globs that exclude files, relative to `start`.
    pub exclude: Vec<String>,
}

/// Limits and context for running a [`Query`].
#[derive(Debug, Clone)]
pub struct Scope {
    /// Workspace root; hit paths are shown relative to it.
    pub root: PathBuf,
    /// Directory or file to search (already confined to the workspace).
    pub start: PathBuf,
    /// Files larger than this are skipped.
    pub max_file_bytes: u64,
    /// Stop collecting after this many hits (past `resume`).
    pub max_hits: usize,
    /// Continue after a previous answer.
    pub resume: Option<Position>,
    /// Give up (returning what was found) at this instant.
    pub deadline: Instant,
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Workspace-relative path.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line, trimmed and clipped around the match.
    pub text: String,
    /// Index of this hit among the hits of its file (for cursors).
    pub nth: usize,
}

/// What a search found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Hits in order; at most `max_hits`.
    pub hits: Vec<Hit>,
    /// The first hit not returned, if the search stopped at `max_hits`.
    pub next: Option<Position>,
    /// Files that were searched.
    pub files_searched: usize,
    /// True if the deadline or a cancellation cut the search short.
    pub interrupted: bool,
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("invalid regex: {0}")]
    InvalidPattern(String),
    #[error("invalid glob `{glob}`: {reason}")]
    InvalidGlob { glob: String, reason: String },
    #[error("empty pattern")]
    EmptyPattern,
}

/// Builds the matcher for a query; exposed so callers can validate before running.
pub fn matcher(query: &Query) -> Result<RegexMatcher, SearchError> {
    if query.pattern.is_empty() {
        return Err(SearchError::EmptyPattern);
    }
    let mut builder = RegexMatcherBuilder::new();
    builder
        .line_terminator(Some(b'\n'))
        .fixed_strings(query.literal)
        .word(query.whole_word);
    match query.case {
        CaseMode::Smart => builder.case_smart(true),
        CaseMode::Sensitive => builder.case_insensitive(false),
        CaseMode::Insensitive => builder.case_insensitive(true),
    };
    builder
        .build(&query.pattern)
        .map_err(|e| SearchError::InvalidPattern(first_line(&e.to_string())))
}

fn first_line(s: &str) -> String {
    // regex-syntax errors are multi-line pictures; the last line carries the reason.
    s.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| s.lines().next().unwrap_or(s).to_string())
}

/// Worker threads for walking and searching (read once: the lookup reads cgroup files).
fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// Runs a search. `stop` is polled so a cancelled call ends promptly.
pub fn search(query: &Query, scope: &Scope, stop: &AtomicBool) -> Result<Outcome, SearchError> {
    search_with(&matcher(query)?, query, scope, stop)
}

/// Like [`search`], with a matcher the caller already built (and validated) from `query`.
pub fn search_with(
    matcher: &RegexMatcher,
    query: &Query,
    scope: &Scope,
    stop: &AtomicBool,
) -> Result<Outcome, SearchError> {
    let files = collect_files(query, scope, stop)?;
    let start_index = match &scope.resume {
        Some(pos) => files.partition_point(|(rel, _)| rel.as_str() < pos.path.as_str()),
        None => 0,
    };
    let files = &files[start_index..];
    Ok(search_files(matcher, files, scope, stop))
}

/// Walks `scope.start` in parallel and returns (relative path, absolute path), sorted.
fn collect_files(
    query: &Query,
    scope: &Scope,
    stop: &AtomicBool,
) -> Result<Vec<(String, PathBuf)>, SearchError> {
    let mut overrides = OverrideBuilder::new(&scope.start);
    for glob in &query.include {
        overrides.add(glob).map_err(|e| SearchError::InvalidGlob {
            glob: glob.clone(),
            reason: e.to_string(),
        })?;
    }
    for glob in &query.exclude {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|e| SearchError::InvalidGlob {
                glob: glob.clone(),
                reason: e.to_string(),
            })?;
    }
    let overrides = overrides.build().map_err(|e| SearchError::InvalidGlob {
        glob: query.include.join(","),
        reason: e.to_string(),
    })?;
    // No `max_filesize` here: it costs a stat per file on the (serial) walk; the size is
    // checked on the opened file instead, in parallel.
    let walker = WalkBuilder::new(&scope.start)
        .standard_filters(true)
        .require_git(false)
        .follow_links(false)
        .overrides(overrides)
        .threads(threads())
        .build_parallel();
    let found: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let root = &scope.root;
    walker.run(|| {
        let found = &found;
        Box::new(move |entry| {
            if stop.load(Ordering::Relaxed) || Instant::now() >= scope.deadline {
                return WalkState::Quit;
            }
            let Ok(entry) = entry else {
                return WalkState::Continue;
            };
            if entry.file_type().is_some_and(|t| t.is_file()) {
                let path = entry.into_path();
                let rel = relative(root, &path);
                if let Ok(mut v) = found.lock() {
                    v.push((rel, path));
                }
            }
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Hits of one file, and whether the file had more than were kept.
#[derive(Default)]
struct FileResult {
    hits: Vec<Hit>,
    truncated: bool,
}

struct Ordered {
    slots: Vec<Option<FileResult>>,
    /// Files 0..done are finished.
    done: usize,
    /// Hits among files 0..done.
    hits_in_done: usize,
}

/// Searches files on worker threads but assembles results in file order, stopping new work
/// once the finished prefix holds enough hits.
fn search_files(
    matcher: &RegexMatcher,
    files: &[(String, PathBuf)],
    scope: &Scope,
    stop: &AtomicBool,
) -> Outcome {
    let want = scope.max_hits.saturating_add(1); // one extra tells whether more exist
    let next_index = AtomicUsize::new(0);
    let enough = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let searched = AtomicUsize::new(0);
    let ordered = Mutex::new(Ordered {
        slots: (0..files.len()).map(|_| None).collect(),
        done: 0,
        hits_in_done: 0,
    });
    let threads = threads().min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut searcher = SearcherBuilder::new()
                    .binary_detection(BinaryDetection::quit(0))
                    .line_number(true)
                    .build();
                loop {
                    if enough.load(Ordering::Relaxed) {
                        break;
                    }
                    if stop.load(Ordering::Relaxed) || Instant::now() >= scope.deadline {
                        interrupted.store(true, Ordering::Relaxed);
                        break;
                    }
                    let i = next_index.fetch_add(1, Ordering::Relaxed);
                    let Some((rel, path)) = files.get(i) else {
                        break;
                    };
                    let skip = match &scope.resume {
                        Some(pos) if pos.path == *rel => pos.skip,
                        _ => 0,
                    };
                    let result = search_one(
                        &mut searcher,
                        matcher,
                        rel,
                        path,
                        skip,
                        want,
                        scope.max_file_bytes,
                    );
                    searched.fetch_add(1, Ordering::Relaxed);
                    let Ok(mut o) = ordered.lock() else { break };
                    o.slots[i] = Some(result);
                    while o.done < o.slots.len() {
                        let Some(slot) = &o.slots[o.done] else { break };
                        let n = slot.hits.len();
                        o.hits_in_done += n;
                        o.done += 1;
                    }
                    if o.hits_in_done >= want {
                        enough.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let ordered = ordered.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut hits = Vec::new();
    let mut next = None;
    'files: for slot in ordered.slots.into_iter().take(ordered.done) {
        let Some(result) = slot else { break };
        let truncated = result.truncated;
        for hit in result.hits {
            if hits.len() == scope.max_hits {
                next = Some(Position {
                    path: hit.path.clone(),
                    skip: hit.nth,
                });
                break 'files;
            }
            hits.push(hit);
        }
        if truncated && let Some(last) = hits.last() {
            // The file had more hits than we kept; resume right after the last one.
            next = Some(Position {
                path: last.path.clone(),
                skip: last.nth + 1,
            });
            break;
        }
    }
    let was_interrupted = interrupted.load(Ordering::Relaxed) && ordered.done < files.len();
    if was_interrupted && next.is_none() {
        // Continue from the first file not finished.
        if let Some((rel, _)) = files.get(ordered.done) {
            next = Some(Position {
                path: rel.clone(),
                skip: 0,
            });
        }
    }
    Outcome {
        hits,
        next,
        files_searched: searched.load(Ordering::Relaxed),
        interrupted: was_interrupted,
    }
}

fn search_one(
    searcher: &mut grep_searcher::Searcher,
    matcher: &RegexMatcher,
    rel: &str,
    path: &Path,
    skip: usize,
    want: usize,
    max_bytes: u64,
) -> FileResult {
    let mut result = FileResult::default();
    let Ok(file) = std::fs::File::open(path) else {
        return result;
    };
    if file.metadata().map_or(true, |m| m.len() > max_bytes) {
        return result;
    }
    let mut nth = 0usize;
    let _ = searcher.search_file(
        matcher,
        &file,
        Lossy(|line_number, line| {
            if nth >= skip {
                if result.hits.len() >= want {
                    result.truncated = true;
                    return Ok(false);
                }
                result.hits.push(Hit {
                    path: rel.to_string(),
                    line: line_number,
                    text: excerpt(matcher, line),
                    nth,
                });
            }
            nth += 1;
            Ok(true)
        }),
    );
    result
}

/// The matching line, trimmed; long lines are cut to a window around the first match.
fn excerpt(matcher: &RegexMatcher, line: &str) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.chars().count() <= MAX_LINE_CHARS {
        return clip(line, MAX_LINE_CHARS);
    }
    let start = matcher
        .find(line.as_bytes())
        .ok()
        .flatten()
        .map_or(0, |m| m.start());
    let mut from = start.saturating_sub(MAX_LINE_CHARS / 4);
    while from > 0 && !line.is_char_boundary(from) {
        from -= 1;
    }
    let body = clip(&line[from..], MAX_LINE_CHARS - 1);
    if from > 0 { format!("…{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "fathom-search-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("build")).unwrap();
        std::fs::write(dir.join(".gitignore"), "build/\n").unwrap();
        std::fs::write(dir.join("src/a.ts"), "let total = 1;\nTOTAL\nsubtotal\n").unwrap();
        std::fs::write(dir.join("src/b.py"), "total = 2\n").unwrap();
        std::fs::write(dir.join("build/out.js"), "total\n").unwrap();
        std::fs::write(dir.join("blob.bin"), b"total\0\x01\x02").unwrap();
        // Over the 1 MiB limit the tests use: never searched.
        std::fs::write(dir.join("huge.txt"), "total\n".repeat(200_000)).unwrap();
        dir.canonicalize().unwrap()
    }

    fn run(dir: &Path, q: Query, max_hits: usize, resume: Option<Position>) -> Outcome {
        let scope = Scope {
            root: dir.to_path_buf(),
            start: dir.to_path_buf(),
            max_file_bytes: 1 << 20,
            max_hits,
            resume,
            deadline: Instant::now() + Duration::from_secs(10),
        };
        search(&q, &scope, &AtomicBool::new(false)).unwrap()
    }

    fn q(pattern: &str) -> Query {
        Query {
            pattern: pattern.into(),
            literal: false,
            case: CaseMode::Smart,
            whole_word: false,
            include: vec![],
            exclude: vec![],
        }
    }

    #[test]
    fn respects_gitignore_binary_case_and_words() {
        let dir = tree();
        let out = run(&dir, q("total"), 100, None);
        let got: Vec<_> = out.hits.iter().map(|h| (h.path.as_str(), h.line)).collect();
        assert_eq!(
            got,
            vec![
                ("src/a.ts", 1),
                ("src/a.ts", 2),
                ("src/a.ts", 3),
                ("src/b.py", 1)
            ]
        );
        let mut word = q("total");
        word.whole_word = true;
        word.case = CaseMode::Sensitive;
        let out = run(&dir, word, 100, None);
        let got: Vec<_> = out.hits.iter().map(|h| (h.path.as_str(), h.line)).collect();
        assert_eq!(got, vec![("src/a.ts", 1), ("src/b.py", 1)]);
        let mut only_py = q("total");
        only_py.include = vec!["*.py".into()];
        assert_eq!(run(&dir, only_py, 100, None).hits.len(), 1);
    }

    #[test]
    fn cursor_continues_exactly() {
        let dir = tree();
        let all = run(&dir, q("total"), 100, None).hits;
        let mut collected = Vec::new();
        let mut resume = None;
        for _ in 0..10 {
            let out = run(&dir, q("total"), 1, resume.clone());
            collected.extend(out.hits);
            resume = out.next;
            if resume.is_none() {
                break;
            }
        }
        assert_eq!(collected, all);
    }

    #[test]
    fn invalid_regex_is_reported() {
        let err = matcher(&q("(unclosed")).unwrap_err().to_string();
        assert!(err.starts_with("invalid regex"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
