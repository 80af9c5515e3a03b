//! Command classifiers: one per cloud CLI, each parsing argv by that CLI's own grammar into the
//! command words, a class (read / write / secret-revealing read) and the local files the command
//! would touch, or refusing it with a reason.
//!
//! Classifiers are pure functions over argv: no I/O, no environment, no workspace. They fail
//! closed: a command they do not recognise is a write, and a flag that could change identity,
//! target or endpoint is refused in every spelling the CLI's parser accepts (`--flag value`,
//! `--flag=value`, and the abbreviations argparse-based CLIs take).

pub mod aws;
pub mod az;
pub mod gcloud;
pub mod kubectl;

use serde::{Deserialize, Serialize};

/// The CLIs fathom can run through an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CliKind {
    Aws,
    Gcloud,
    Az,
    Kubectl,
}

impl CliKind {
    /// The program name looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            CliKind::Aws => "aws",
            CliKind::Gcloud => "gcloud",
            CliKind::Az => "az",
            CliKind::Kubectl => "kubectl",
        }
    }
}

/// What a command does, as far as safety goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Only reads cloud state; runs on any integration.
    Read,
    /// Changes something (or is not recognised); needs a write integration and a human.
    Write,
    /// Reads, but prints credentials or secret material; refused unless the integration
    /// lists it in `secret_reads`, and then it needs a human like a write.
    SecretRead,
}

impl Class {
    /// Lower-case name used in answers and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::SecretRead => "secret_read",
        }
    }
}

/// A local file named by an argument (`file://x`, `s3 cp` targets, `kubectl cp`, `@file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileArg {
    /// The path as given (without any `file://` style prefix).
    pub path: String,
    /// The command would write (or create) the file.
    pub write: bool,
}

/// A classifier's verdict on a command it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The command words in grammar order, e.g. `["ec2", "describe-instances"]`,
    /// `["compute", "instances", "list"]`, `["get", "pods"]`; what allow/deny patterns match.
    pub words: Vec<String>,
    pub class: Class,
    /// The classifier did not recognise the command, so it counts as a write.
    pub unknown: bool,
    /// One short phrase saying why this class, e.g. "`describe-*` operations only read".
    pub why: String,
    /// Local files the arguments name; the caller confines them to the workspace.
    pub files: Vec<FileArg>,
}

/// Why a command is refused outright, whatever the integration allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The offending argument, clipped for display.
    pub arg: String,
    /// What rule it broke, in a phrase: "`--profile` would change the pinned identity".
    pub reason: String,
}

impl Refusal {
    pub fn new(arg: &str, reason: impl Into<String>) -> Self {
        Self {
            arg: crate::render::clip(&arg.replace('\0', "\\0"), 80),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.arg, self.reason)
    }
}

/// What an integration relaxes or pins, as far as classification goes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Scope flags the integration lets the agent pass (e.g. `--region`), spelled in full.
    pub allow_flags: Vec<String>,
    /// kubectl: the namespace is pinned, so `-n`/`--namespace`/`-A` are refused.
    pub namespace_pinned: bool,
}

impl Options {
    fn allows(&self, flag: &str) -> bool {
        self.allow_flags.iter().any(|f| f == flag)
    }
}

/// Longest single argument accepted; longer ones are refused before any parsing.
pub const MAX_ARG_BYTES: usize = 16 * 1024;
/// Most arguments in one command.
pub const MAX_ARGS: usize = 128;

/// Classifies `args` (the words after the program name) for `cli`.
pub fn classify(cli: CliKind, args: &[String], opts: &Options) -> Result<Classification, Refusal> {
    check_inert(args)?;
    match cli {
        CliKind::Aws => aws::classify(args, opts),
        CliKind::Gcloud => gcloud::classify(args, opts),
        CliKind::Az => az::classify(args, opts),
        CliKind::Kubectl => kubectl::classify(args, opts),
    }
}

/// Checks every CLI shares: no NUL bytes (they cannot reach a program intact), bounded sizes,
/// at least one word.
fn check_inert(args: &[String]) -> Result<(), Refusal> {
    if args.is_empty() {
        return Err(Refusal::new("", "no command given"));
    }
    if args.len() > MAX_ARGS {
        return Err(Refusal::new(
            &args[MAX_ARGS],
            format!("more than {MAX_ARGS} arguments"),
        ));
    }
    for a in args {
        if a.contains('\0') {
            return Err(Refusal::new(a, "arguments cannot contain NUL bytes"));
        }
        if a.len() > MAX_ARG_BYTES {
            return Err(Refusal::new(
                a,
                format!("an argument longer than {MAX_ARG_BYTES} bytes"),
            ));
        }
    }
    Ok(())
}

/// A long option split into its name (with the leading dashes) and an inline `=value`.
pub(crate) fn split_long(arg: &str) -> Option<(&str, Option<&str>)> {
    if !arg.starts_with("--") || arg == "--" {
        return None;
    }
    Some(match arg.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (arg, None),
    })
}

/// Whether `given` (e.g. `--prof`) is a spelling Python's argparse would expand to `full`
/// (e.g. `--profile`): the name itself or any unambiguous-looking prefix of it. Prefixes of one
/// letter count too, because argparse expands them when no other option shares the prefix.
pub(crate) fn abbreviates(given: &str, full: &str) -> bool {
    given.len() > 2 && full.starts_with(given)
}

/// The first forbidden flag that `given` spells (exactly, or by abbreviation when
/// `abbrev` is set), skipping flags the options allow.
pub(crate) fn forbidden_spelling<'a>(
    given: &str,
    forbidden: &[&'a str],
    abbrev: bool,
    opts: &Options,
) -> Option<&'a str> {
    forbidden.iter().copied().find(|full| {
        let hit = if abbrev {
            abbreviates(given, full)
        } else {
            given == *full
        };
        hit && !opts.allows(full)
    })
}

/// Builds a verdict.
pub(crate) fn verdict(
    words: Vec<String>,
    class: Class,
    unknown: bool,
    why: &str,
    files: Vec<FileArg>,
) -> Classification {
    Classification {
        words,
        class,
        unknown,
        why: why.to_string(),
        files,
    }
}

/// Whether a value is a URL (`gs://b/o`, `https://…`), not a local path.
pub(crate) fn has_scheme(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Lower-cased glob match of one command word (`*` any run, `?` one character).
pub fn word_matches(pattern: &str, word: &str) -> bool {
    fn go(p: &[u8], w: &[u8]) -> bool {
        match (p.first(), w.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], w) || (!w.is_empty() && go(p, &w[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &w[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && go(&p[1..], &w[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), word.as_bytes())
}

/// Whether a pattern such as `ec2 describe-*` matches the leading command words: each pattern
/// word is a glob over the word at the same place; a lone `*` matches everything.
pub fn pattern_matches(pattern: &str, words: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split_whitespace().collect();
    if parts.is_empty() {
        return false;
    }
    if parts == ["*"] {
        return true;
    }
    parts.len() <= words.len() && parts.iter().zip(words).all(|(p, w)| word_matches(p, w))
}

/// Test helpers shared by the classifiers' tables.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Classification, Options, Refusal};

    /// Splits a test command line on whitespace.
    pub fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    /// Every `(command line, flag)` case is refused, with a reason that names the flag.
    pub fn assert_all_refused(
        classify: fn(&[String], &Options) -> Result<Classification, Refusal>,
        cases: &[(&str, &str)],
        opts: &Options,
    ) {
        for (line, flag) in cases {
            let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
            match classify(&argv, opts) {
                Ok(c) => panic!("{line}: accepted as {:?}", c.class),
                Err(r) => {
                    assert!(!r.reason.is_empty(), "{line}");
                    assert!(
                        r.reason.contains(flag),
                        "{line}: reason `{}` lacks {flag}",
                        r.reason
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_leading_words() {
        let w: Vec<String> = ["ec2", "describe-instances"].map(String::from).to_vec();
        assert!(pattern_matches("ec2 describe-*", &w));
        assert!(pattern_matches("ec2", &w));
        assert!(pattern_matches("*", &w));
        assert!(!pattern_matches("ec2 run-*", &w));
        assert!(!pattern_matches("ec2 describe-instances extra", &w));
        assert!(!pattern_matches("", &w));
        assert!(word_matches("DESCRIBE-*", "describe-vpcs"));
    }

    #[test]
    fn abbreviations_follow_argparse() {
        assert!(abbreviates("--prof", "--profile"));
        assert!(abbreviates("--p", "--profile"));
        assert!(!abbreviates("--", "--profile"));
        assert!(!abbreviates("--profiles", "--profile"));
    }

    #[test]
    fn inert_checks_refuse_nul_and_oversize() {
        assert!(check_inert(&["a\0b".to_string()]).is_err());
        assert!(check_inert(&["x".repeat(MAX_ARG_BYTES + 1)]).is_err());
        assert!(check_inert(&[]).is_err());
        assert!(check_inert(&vec!["a".to_string(); MAX_ARGS + 1]).is_err());
    }
}
