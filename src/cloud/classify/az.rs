//! `az GROUP… COMMAND [--flag value …]`.
//!
//! The Azure CLI runs on knack and argparse: the command is the leading words before the first
//! flag, matched case-insensitively, and argparse expands unambiguous prefixes of long options
//! (`--subs` is `--subscription`), so pinned flags are refused abbreviated too. Before parsing,
//! az replaces every argument `@PATH`, and every `NAME=@PATH`, with the contents of the file at
//! `PATH` (`~` expanded; `@-` is standard input), so those are local files read.

use super::{Class, Classification, FileArg, Options, Refusal, forbidden_spelling, has_scheme};

/// Flags that change the subscription or tenant, log tokens (`--debug`), or hand az other
/// credentials or endpoints for storage data-plane calls.
const PINNED: &[&str] = &[
    "--subscription",
    "--tenant",
    "--debug",
    "--account-key",
    "--sas-token",
    "--connection-string",
];

/// Global flags that take a value (so the next word is not a command word).
const GLOBAL_VALUED: &[&str] = &["--output", "-o", "--query", "--subscription", "--tenant"];

/// Global flags without a value.
const GLOBAL_SWITCHES: &[&str] = &["--verbose", "--only-show-errors", "--help", "-h", "--debug"];

/// Common command flags without a value (every other flag is taken to have one).
const SWITCHES: &[&str] = &[
    "--yes",
    "-y",
    "--no-wait",
    "--all",
    "--verbose",
    "--only-show-errors",
    "--debug",
    "--help",
    "-h",
    "--expose-token",
    "--overwrite",
    "--force",
    "--recursive",
    "--dry-run",
    "--no-prompt",
    "--admin",
    "--show-values",
    "--generate-ssh-keys",
    "--include-deleted",
    "--public",
];

/// Commands right under `az` and their class.
const TOP_LEVEL: &[(&str, Class, bool, &str)] = &[
    ("version", Class::Read, false, "prints versions"),
    (
        "login",
        Class::Write,
        false,
        "changes the signed-in identity",
    ),
    (
        "logout",
        Class::Write,
        false,
        "changes the signed-in identity",
    ),
    ("upgrade", Class::Write, false, "upgrades the CLI"),
    (
        "configure",
        Class::Write,
        false,
        "changes local az configuration",
    ),
    (
        "init",
        Class::Write,
        false,
        "changes local az configuration",
    ),
    (
        "rest",
        Class::Write,
        false,
        "an arbitrary REST call (any method, any URL)",
    ),
    (
        "interactive",
        Class::Write,
        true,
        "an interactive shell; counted as a write",
    ),
    (
        "feedback",
        Class::Write,
        true,
        "a command fathom has no class for",
    ),
    (
        "survey",
        Class::Write,
        true,
        "a command fathom has no class for",
    ),
    (
        "self-test",
        Class::Write,
        true,
        "a command fathom has no class for",
    ),
    (
        "find",
        Class::Write,
        true,
        "a command fathom has no class for",
    ),
];

/// Commands that print secrets, keys or tokens, or mint them, whatever group they are in.
const SECRET_VERBS: &[&str] = &[
    "get-access-token",
    "list-keys",
    "list-key",
    "show-keys",
    "show-connection-string",
    "list-connection-strings",
    "get-connection-string",
    "list-credentials",
    "list-publishing-credentials",
    "list-publishing-profiles",
    "list-secrets",
    "list-read-only-keys",
    "generate-sas",
];

/// Parts of a `list-*`/`show-*`/`get-*` command name that mean it prints secret material.
const SECRET_HINTS: &[&str] = &[
    "key",
    "keys",
    "secret",
    "secrets",
    "credential",
    "credentials",
    "password",
    "passwords",
    "token",
    "tokens",
    "sas",
];

/// Names that are groups in some places and commands in others (`vm run-command invoke`,
/// `storage blob copy start`, but `storage copy`): a command only when no command follows.
const GROUP_OR_VERB: &[&str] = &["run-command", "copy", "lock", "link", "restore", "backup"];

/// Groups whose `list`/`show` print secret material (`storage account keys list`).
const SECRET_GROUPS: &[&str] = &[
    "keys",
    "key",
    "credential",
    "credentials",
    "admin-key",
    "query-key",
    "api-key",
    "connection-string",
    "appsettings",
];

/// Read-looking commands that write local credentials or identity.
const WRITE_EXCEPTIONS: &[&str] = &["get-credentials", "login", "logout"];

/// Commands that only read.
const READ_VERBS: &[&str] = &[
    "list", "show", "get", "exists", "wait", "version", "tail", "query", "what-if", "validate",
];

/// Prefixes of commands that only read (`list-locations`, `show-deleted`, `check-name`).
const READ_PREFIXES: &[&str] = &["list-", "show-", "get-", "check-"];

/// Commands (and, followed by `-`, command prefixes) that change something.
const WRITE_VERBS: &[&str] = &[
    "create",
    "delete",
    "update",
    "set",
    "unset",
    "add",
    "remove",
    "start",
    "stop",
    "restart",
    "deploy",
    "import",
    "export",
    "purge",
    "recover",
    "restore",
    "backup",
    "swap",
    "scale",
    "upgrade",
    "install",
    "uninstall",
    "clear",
    "register",
    "unregister",
    "invoke",
    "run",
    "reset",
    "renew",
    "regenerate",
    "rotate",
    "assign",
    "unassign",
    "enable",
    "disable",
    "attach",
    "detach",
    "approve",
    "reject",
    "cancel",
    "resume",
    "suspend",
    "pause",
    "upload",
    "download",
    "copy",
    "move",
    "sync",
    "lock",
    "unlock",
    "grant",
    "revoke",
    "append",
    "replace",
    "reimage",
    "redeploy",
    "deallocate",
    "generalize",
    "capture",
    "convert",
    "resize",
    "failover",
    "promote",
    "rollback",
    "push",
    "pull",
    "build",
    "tag",
    "untag",
    "ssh",
    "connect",
    "disconnect",
    "config-zip",
    "up",
    "apply",
    "patch",
    "send",
    "publish",
    "link",
    "unlink",
    "migrate",
    "rename",
    "refresh",
    "generate",
    "deny",
    "submit",
    "execute",
    "trigger",
    "kill",
    "terminate",
    "reboot",
    "redeem",
    "bind",
    "unbind",
    "undelete",
    "archive",
    "flush",
    "force-delete",
    "evict",
    "drain",
];

/// Classifies an `az` command line (the words after `az`).
pub fn classify(args: &[String], opts: &Options) -> Result<Classification, Refusal> {
    let mut files = Vec::new();
    for arg in args {
        file_prefixed(arg, &mut files)?;
    }
    let mut words: Vec<String> = Vec::new();
    let mut in_words = true;
    let mut operands: Vec<&str> = Vec::new();
    let mut flags: Vec<(&str, Option<&str>)> = Vec::new();
    let mut early_flag: Option<&str> = None;
    let mut dashed = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" && !dashed {
            dashed = true;
            in_words = false;
            continue;
        }
        if dashed {
            // Positional for argparse, but checked anyway in case az reads it as a flag.
            if looks_like_flag(arg) {
                check_pinned(arg, split_flag(arg).0, &words, opts)?;
            }
            operands.push(arg);
            continue;
        }
        if !looks_like_flag(arg) {
            if in_words {
                words.push(arg.to_lowercase());
            } else {
                operands.push(arg);
            }
            continue;
        }
        let (name, inline) = split_flag(arg);
        check_pinned(arg, name, &words, opts)?;
        if words.is_empty() {
            if !GLOBAL_VALUED.contains(&name) && !GLOBAL_SWITCHES.contains(&name) {
                early_flag.get_or_insert(arg);
            }
        } else {
            in_words = false;
        }
        let takes_value =
            GLOBAL_VALUED.contains(&name) || (!words.is_empty() && !SWITCHES.contains(&name));
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
        flags.push((name, value));
    }
    let Some(cut) = verb_index(&words) else {
        if flags.iter().any(|(n, _)| matches!(*n, "--help" | "-h")) && !words.is_empty() {
            return Ok(done(words, (Class::Read, false, "prints help"), files));
        }
        if words.is_empty() {
            return Err(Refusal::new(
                args.first().map_or("", String::as_str),
                "no az command named (expected `az GROUP … COMMAND`)",
            ));
        }
        return Ok(done(
            words,
            (
                Class::Write,
                true,
                "no az command fathom knows; counted as a write",
            ),
            files,
        ));
    };
    if let Some(flag) = early_flag {
        return Err(Refusal::new(
            flag,
            "az takes only global flags before the command; put command flags after it",
        ));
    }
    let extra: Vec<String> = words.split_off(cut + 1);
    let operands: Vec<&str> = extra.iter().map(String::as_str).chain(operands).collect();
    let verb = words[cut].clone();
    for (name, value) in &flags {
        if let Some(v) = value
            && let Some(write) = file_flag(name, &verb, v)
        {
            local_file(&mut files, v, write)?;
        }
    }
    if matches!(words.as_slice(), [a, b] if a == "acr" && (b == "build" || b == "run"))
        && let Some(src) = operands.first()
    {
        local_file(&mut files, src, false)?;
    }
    if flags.iter().any(|(n, _)| matches!(*n, "--help" | "-h")) {
        return Ok(done(words, (Class::Read, false, "prints help"), files));
    }
    let verdict = command_verdict(&words, &flags);
    Ok(done(words, verdict, files))
}

/// A command's class, whether fathom knows it, and why.
type Verdict = (Class, bool, &'static str);

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

/// A flag's name and inline value: `--x=v`, and for short flags `-o=v` or `-ov`.
fn split_flag(arg: &str) -> (&str, Option<&str>) {
    if arg.starts_with("--") {
        return match arg.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
    }
    match arg.char_indices().nth(2) {
        Some((at, _)) => {
            let value = &arg[at..];
            (&arg[..at], Some(value.strip_prefix('=').unwrap_or(value)))
        }
        None => (arg, None),
    }
}

/// Refuses a pinned flag in any spelling argparse accepts, and `-s`/`-t` (subscription,
/// tenant) in `az account …` and `az login`.
fn check_pinned(arg: &str, name: &str, words: &[String], opts: &Options) -> Result<(), Refusal> {
    let short_pinned = match name {
        "-s" => Some("--subscription"),
        "-t" => Some("--tenant"),
        _ => None,
    };
    let identity_group = matches!(words.first().map(String::as_str), Some("account" | "login"));
    let flag = if name.starts_with("--") {
        forbidden_spelling(name, PINNED, true, opts)
    } else {
        short_pinned.filter(|full| identity_group && !opts.allows(full))
    };
    let Some(flag) = flag else {
        return Ok(());
    };
    let reason = match flag {
        "--debug" => "`--debug` logs requests with their access tokens; refused".to_string(),
        "--account-key" | "--sas-token" | "--connection-string" => {
            format!("`{flag}` hands az other storage credentials than the integration's")
        }
        _ => format!("`{flag}` would change the integration's pinned subscription or tenant"),
    };
    Err(Refusal::new(arg, reason))
}

/// The index of the command name among the leading words (`None`: no command recognised).
fn verb_index(words: &[String]) -> Option<usize> {
    let first = words.first()?;
    if TOP_LEVEL.iter().any(|(name, ..)| name == first) {
        return Some(0);
    }
    (1..words.len()).find(|&i| {
        is_verb(&words[i])
            && !(GROUP_OR_VERB.contains(&words[i].as_str())
                && words.get(i + 1).is_some_and(|next| is_verb(next)))
    })
}

/// Whether a word is an az command name (as opposed to a group).
fn is_verb(word: &str) -> bool {
    SECRET_VERBS.contains(&word)
        || WRITE_EXCEPTIONS.contains(&word)
        || READ_VERBS.contains(&word)
        || READ_PREFIXES.iter().any(|p| word.starts_with(p))
        || WRITE_VERBS.iter().any(|v| verb_matches(v, word))
}

/// Whether `word` is `verb` or starts with `verb-` (`add-identity`, `start-batch`).
fn verb_matches(verb: &str, word: &str) -> bool {
    word == verb || (word.starts_with(verb) && word.as_bytes().get(verb.len()) == Some(&b'-'))
}

/// The class of the command `words` (groups then command name) given its flags.
fn command_verdict(words: &[String], flags: &[(&str, Option<&str>)]) -> Verdict {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    if let [top] = w.as_slice()
        && let Some((_, class, unknown, why)) = TOP_LEVEL.iter().find(|(name, ..)| name == top)
    {
        return (*class, *unknown, why);
    }
    let verb = w.last().copied().unwrap_or_default();
    let prev = w
        .len()
        .checked_sub(2)
        .and_then(|i| w.get(i))
        .copied()
        .unwrap_or_default();
    let has = |flag: &str| {
        flags
            .iter()
            .any(|(n, _)| n.len() > 3 && flag.starts_with(n))
    };
    let secret = (SECRET_VERBS.contains(&verb)
        || (READ_PREFIXES[..3].iter().any(|p| verb.starts_with(p))
            && (verb.contains("connection-string")
                || verb.split('-').any(|part| SECRET_HINTS.contains(&part)))))
        && !WRITE_EXCEPTIONS.contains(&verb);
    let keyvault_public = w.first() == Some(&"keyvault") && prev == "key" && verb != "download";
    let grouped =
        SECRET_GROUPS.contains(&prev) && matches!(verb, "list" | "show") && !keyvault_public;
    let secret_of_secret = prev == "secret"
        && (matches!(verb, "show" | "download" | "show-deleted")
            || (verb == "list" && w.contains(&"containerapp")));
    let downloads_keys = w.first() == Some(&"keyvault") && verb == "download";
    if secret || grouped || secret_of_secret || downloads_keys {
        return (Class::SecretRead, false, "prints secrets, keys or tokens");
    }
    if w == ["acr", "login"] && has("--expose-token") {
        return (
            Class::SecretRead,
            false,
            "`--expose-token` prints a registry token",
        );
    }
    if verb == "get-credentials" {
        let to_stdout = flags.iter().any(|(n, v)| {
            (*n == "-f" || (n.len() > 3 && "--file".starts_with(n))) && *v == Some("-")
        });
        if to_stdout {
            return (Class::SecretRead, false, "prints cluster credentials");
        }
        return (
            Class::Write,
            false,
            "writes cluster credentials into a kubeconfig",
        );
    }
    if WRITE_EXCEPTIONS.contains(&verb) {
        return (Class::Write, false, "changes the signed-in identity");
    }
    if READ_VERBS.contains(&verb) || READ_PREFIXES.iter().any(|p| verb.starts_with(p)) {
        return (Class::Read, false, "a read-only command");
    }
    if WRITE_VERBS.iter().any(|v| verb_matches(v, verb)) {
        return (
            Class::Write,
            false,
            "a command that changes resources or local setup",
        );
    }
    (
        Class::Write,
        true,
        "an az command fathom does not know; counted as a write",
    )
}

/// Records the file az loads for an `@PATH` or `NAME=@PATH` argument.
fn file_prefixed(arg: &str, files: &mut Vec<FileArg>) -> Result<(), Refusal> {
    let candidate = arg.split_once('=').map_or(arg, |(_, v)| v);
    let Some(path) = candidate.strip_prefix('@') else {
        return Ok(());
    };
    if path.is_empty() || path == "-" {
        return Ok(());
    }
    local_file(files, path, false)
}

/// Whether a flag's value names a local file: `Some(true)` written, `Some(false)` read.
fn file_flag(name: &str, verb: &str, value: &str) -> Option<bool> {
    let downloads = verb.starts_with("download") || verb == "get-credentials";
    match name {
        "--file" | "-f" => Some(downloads),
        "--destination" | "--dest" | "-d" => downloads.then_some(true),
        "--source" | "-s" => verb.starts_with("upload").then_some(false),
        "--src" | "--src-path" | "--custom-data" | "--user-data" | "--yaml" => Some(false),
        "--outfile" | "--out-file" | "--output-file" | "--outdir" | "--output-directory"
        | "--output-folder" | "--log-file" => Some(true),
        "--parameters" => {
            let lower = value.to_ascii_lowercase();
            (lower.ends_with(".json") || lower.ends_with(".bicepparam")).then_some(false)
        }
        "--ssh-key-values" | "--ssh-key-value" => {
            let key_text = ["ssh-", "ecdsa-", "sk-"]
                .iter()
                .any(|p| value.starts_with(p));
            (!key_text).then_some(false)
        }
        _ if name.ends_with("-file") => Some(name.contains("out")),
        _ => None,
    }
}

/// Records a path if it is local (not `-`, not a URL, not already loaded with `@`); `~` paths
/// are refused since az expands them to the home directory.
fn local_file(files: &mut Vec<FileArg>, path: &str, write: bool) -> Result<(), Refusal> {
    if path.is_empty() || path == "-" || path.starts_with('@') || has_scheme(path) {
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
        // (command line, flag or text the reason must name)
        let cases: &[(&str, &str)] = &[
            ("vm list --subscription other", "--subscription"),
            ("vm list --subscription=other", "--subscription"),
            ("--subscription other vm list", "--subscription"),
            ("--subscription=other vm list", "--subscription"),
            ("vm list --subscript other", "--subscription"),
            ("vm list --subs other", "--subscription"),
            ("vm list --sub=other", "--subscription"),
            ("vm list --su other", "--subscription"),
            ("vm list --s other", "--subscription"),
            ("account set --subscription other", "--subscription"),
            ("account set -s other", "--subscription"),
            ("account set -sother", "--subscription"),
            ("account set -s=other", "--subscription"),
            ("account show -s other", "--subscription"),
            (
                "account get-access-token --subscription other",
                "--subscription",
            ),
            ("account get-access-token --tenant t", "--tenant"),
            ("account get-access-token -t t", "--tenant"),
            ("account get-access-token --tenant=t", "--tenant"),
            ("account get-access-token --ten t", "--tenant"),
            ("login --tenant t", "--tenant"),
            ("login -t t", "--tenant"),
            ("group list --tenant t", "--tenant"),
            ("vm list --debug", "--debug"),
            ("--debug vm list", "--debug"),
            ("vm list --deb", "--debug"),
            ("vm list --debu", "--debug"),
            ("vm list --de", "--debug"),
            (
                "storage blob list -c c --account-name a --account-key k",
                "--account-key",
            ),
            ("storage blob list -c c --account-key=k", "--account-key"),
            ("storage blob list -c c --account-k k", "--account-key"),
            (
                "storage blob upload -f x -c c -n n --sas-token t",
                "--sas-token",
            ),
            (
                "storage blob upload -f x -c c -n n --sas-token=t",
                "--sas-token",
            ),
            ("storage blob upload -f x -c c -n n --sas t", "--sas-token"),
            (
                "storage blob list -c c --connection-string cs",
                "--connection-string",
            ),
            (
                "storage blob list -c c --connection-string=cs",
                "--connection-string",
            ),
            (
                "storage blob list -c c --connection-str cs",
                "--connection-string",
            ),
            (
                "group create -n g -l l --tags x=@~/.azure/msal_token_cache.json",
                "~",
            ),
            (
                "deployment group create -g g --parameters @~/.ssh/id_rsa",
                "~",
            ),
            ("vm list --query=@~/q", "~"),
            (
                "keyvault secret set --vault-name v -n n --file ~/.azure/accessTokens.json",
                "~",
            ),
            ("vm list -o json --debug", "--debug"),
            ("vm list -- --subscription=other", "--subscription"),
        ];
        assert!(cases.len() >= 40);
        super::super::testing::assert_all_refused(classify, cases, &Options::default());
    }

    /// Flags the integration allows pass, and lookalikes of pinned flags are not refused.
    #[test]
    fn allowed_flags_pass() {
        let opts = Options {
            allow_flags: vec!["--subscription".into()],
            ..Options::default()
        };
        let c = classify(&argv("vm list --subscription s"), &opts);
        assert_eq!(c.map(|c| c.class), Ok(Class::Read));
        let c = classify(&argv("account set -s s"), &opts);
        assert_eq!(c.map(|c| c.class), Ok(Class::Write));
        assert!(classify(&argv("vm list --debug"), &opts).is_err());
        assert_eq!(
            class_of("webapp deployment slot swap -s staging -g g -n n").class,
            Class::Write
        );
        assert_eq!(class_of("vm list --tenant-id x").class, Class::Read);
    }

    /// Commands that print secrets are `SecretRead`, their harmless neighbours `Read`.
    #[test]
    fn secret_reads() {
        for line in [
            "account get-access-token",
            "account get-access-token --resource https://vault.azure.net",
            "keyvault secret show --vault-name v -n db",
            "keyvault secret show-deleted --vault-name v -n db",
            "keyvault secret download --vault-name v -n db --file out.txt",
            "keyvault key download --vault-name v -n k -f k.pem",
            "keyvault certificate download --vault-name v -n c -f c.pem",
            "storage account keys list -g g -n a",
            "storage account show-connection-string -g g -n a",
            "storage account generate-sas --account-name a --services b --permissions r",
            "cosmosdb keys list -g g -n c",
            "cosmosdb list-keys -g g -n c",
            "acr credential show -n r",
            "acr login -n r --expose-token",
            "webapp deployment list-publishing-credentials -g g -n w",
            "webapp deployment list-publishing-profiles -g g -n w",
            "webapp config appsettings list -g g -n w",
            "webapp config connection-string list -g g -n w",
            "functionapp keys list -g g -n f",
            "functionapp function keys list -g g -n f --function-name x",
            "redis list-keys -g g -n r",
            "sql db show-connection-string -s s -n d -c ado.net",
            "servicebus namespace authorization-rule keys list -g g --namespace-name n -n r",
            "eventhubs eventhub authorization-rule keys list -g g --namespace-name n --eventhub-name e -n r",
            "signalr key list -g g -n s",
            "search admin-key show -g g --service-name s",
            "containerapp secret list -g g -n a --show-values",
            "ad sp credential list --id x",
            "aks get-credentials -g g -n c --file -",
            "ACCOUNT GET-ACCESS-TOKEN",
        ] {
            assert_eq!(class_of(line).class, Class::SecretRead, "{line}");
        }
    }

    /// Read-only commands, with their command words.
    #[test]
    fn reads() {
        let cases: &[(&str, &[&str])] = &[
            ("vm list", &["vm", "list"]),
            ("vm list -g g -o table", &["vm", "list"]),
            ("-o table vm list", &["vm", "list"]),
            (
                "--only-show-errors group list --query [].name",
                &["group", "list"],
            ),
            ("VM LIST", &["vm", "list"]),
            ("vm show -g g -n v", &["vm", "show"]),
            ("vm list-sizes -l westeurope", &["vm", "list-sizes"]),
            ("account show", &["account", "show"]),
            ("account list --all", &["account", "list"]),
            ("account list-locations", &["account", "list-locations"]),
            ("group exists -n g", &["group", "exists"]),
            (
                "storage account check-name -n a",
                &["storage", "account", "check-name"],
            ),
            (
                "keyvault secret list --vault-name v",
                &["keyvault", "secret", "list"],
            ),
            (
                "keyvault key show --vault-name v -n k",
                &["keyvault", "key", "show"],
            ),
            ("aks show -g g -n c", &["aks", "show"]),
            ("aks get-versions -l l", &["aks", "get-versions"]),
            ("webapp log tail -g g -n w", &["webapp", "log", "tail"]),
            (
                "monitor log-analytics query -w w --analytics-query q",
                &["monitor", "log-analytics", "query"],
            ),
            (
                "deployment group what-if -g g -f main.bicep",
                &["deployment", "group", "what-if"],
            ),
            ("vm wait -g g -n v --created", &["vm", "wait"]),
            (
                "vm run-command list -g g --vm-name v",
                &["vm", "run-command", "list"],
            ),
            ("group lock list -g g", &["group", "lock", "list"]),
            ("version", &["version"]),
            ("vm create --help", &["vm", "create"]),
            ("vm list -- --help", &["vm", "list"]),
        ];
        for (line, words) in cases {
            let c = class_of(line);
            assert_eq!(c.class, Class::Read, "{line}: {}", c.why);
            assert_eq!(c.words, *words, "{line}");
            assert!(!c.unknown, "{line}");
        }
    }

    /// Commands that change something, with their command words; unknown ones count as writes.
    #[test]
    fn writes() {
        let cases: &[(&str, &[&str])] = &[
            ("vm create -g g -n v --image Ubuntu2204", &["vm", "create"]),
            ("vm delete -g g -n v --yes", &["vm", "delete"]),
            ("vm start -g g -n v", &["vm", "start"]),
            (
                "vm run-command invoke -g g -n v --command-id RunShellScript",
                &["vm", "run-command", "invoke"],
            ),
            ("group create -n g -l westeurope", &["group", "create"]),
            ("login", &["login"]),
            ("logout", &["logout"]),
            ("account set --name other", &["account", "set"]),
            ("account clear", &["account", "clear"]),
            ("config set core.output=table", &["config", "set"]),
            ("extension add -n aks-preview", &["extension", "add"]),
            ("extension remove -n aks-preview", &["extension", "remove"]),
            ("cloud set -n AzureChinaCloud", &["cloud", "set"]),
            (
                "cloud register -n c --endpoint-resource-manager https://x",
                &["cloud", "register"],
            ),
            ("aks get-credentials -g g -n c", &["aks", "get-credentials"]),
            ("acr login -n r", &["acr", "login"]),
            (
                "rest --method get --url https://management.azure.com/x",
                &["rest"],
            ),
            ("rest -m get -u /subscriptions", &["rest"]),
            (
                "storage blob upload -f a.txt -c c -n a.txt",
                &["storage", "blob", "upload"],
            ),
            (
                "storage blob copy start --source-uri u -c c -b b",
                &["storage", "blob", "copy", "start"],
            ),
            ("storage copy -s a -d b", &["storage", "copy"]),
            (
                "webapp deployment slot swap -g g -n w --slot staging",
                &["webapp", "deployment", "slot", "swap"],
            ),
            (
                "keyvault secret set --vault-name v -n n --value x",
                &["keyvault", "secret", "set"],
            ),
            (
                "role assignment create --assignee a --role r",
                &["role", "assignment", "create"],
            ),
            (
                "ad sp create-for-rbac -n sp",
                &["ad", "sp", "create-for-rbac"],
            ),
        ];
        for (line, words) in cases {
            let c = class_of(line);
            assert_eq!(c.class, Class::Write, "{line}: {}", c.why);
            assert_eq!(c.words, *words, "{line}");
            assert!(!c.unknown, "{line}");
        }
        for line in ["vm frobnicate -g g", "interactive", "vm", "find vm"] {
            let c = class_of(line);
            assert_eq!((c.class, c.unknown), (Class::Write, true), "{line}");
        }
        assert!(classify(&argv("-o table"), &Options::default()).is_err());
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
            (
                "deployment group create -g g --template-file main.bicep",
                vec![read("main.bicep")],
            ),
            (
                "deployment group create -g g -f main.bicep --parameters @params.json",
                vec![read("params.json"), read("main.bicep")],
            ),
            (
                "deployment group create -g g --parameters params.json",
                vec![read("params.json")],
            ),
            (
                "deployment group create -g g --parameters=@p.json",
                vec![read("p.json")],
            ),
            (
                "group create -n g -l l --tags owner=@/etc/passwd",
                vec![read("/etc/passwd")],
            ),
            (
                "vm create -g g -n v --custom-data cloud-init.yaml",
                vec![read("cloud-init.yaml")],
            ),
            (
                "vm create -g g -n v --ssh-key-values keys/id.pub",
                vec![read("keys/id.pub")],
            ),
            ("vm create -g g -n v --ssh-key-values ssh-ed25519", vec![]),
            (
                "storage blob upload -f a.txt -c c -n a.txt",
                vec![read("a.txt")],
            ),
            (
                "storage blob download -f out/a.txt -c c -n a.txt",
                vec![write("out/a.txt")],
            ),
            (
                "storage blob download-batch -d out -s c",
                vec![write("out")],
            ),
            (
                "storage blob upload-batch -s ./site -d $web",
                vec![read("./site")],
            ),
            (
                "keyvault secret download --vault-name v -n s --file s.txt",
                vec![write("s.txt")],
            ),
            (
                "aks get-credentials -g g -n c --file ./kubeconfig",
                vec![write("./kubeconfig")],
            ),
            ("aks get-credentials -g g -n c --file -", vec![]),
            (
                "webapp deploy -g g -n w --src-path app.zip",
                vec![read("app.zip")],
            ),
            ("acr build -r reg -t img:1 .", vec![read(".")]),
            (
                "vm run-command invoke -g g -n v --command-id c --scripts @script.sh",
                vec![read("script.sh")],
            ),
            ("group create -n g -l l --tags a=@-", vec![]),
        ];
        for (line, files) in cases {
            assert_eq!(class_of(line).files, *files, "{line}");
        }
    }

    /// Shell syntax in arguments is inert data (no shell runs), so it is not refused.
    #[test]
    fn shell_metacharacters_are_plain_values() {
        let args: Vec<String> = [
            "vm",
            "list",
            "--query",
            "$(touch /tmp/pwned)",
            "-g",
            "; rm -rf /",
        ]
        .map(String::from)
        .to_vec();
        let c = classify(&args, &Options::default()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!(
            (c.class, c.words),
            (Class::Read, vec!["vm".to_string(), "list".to_string()])
        );
        let args: Vec<String> = ["group", "show", "-n", "`id` | sh && curl evil"]
            .map(String::from)
            .to_vec();
        let c = classify(&args, &Options::default()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!(c.words, ["group", "show"]);
        assert!(c.files.is_empty());
    }
}
