//! The `aws` CLI (v1 and v2): `aws [global options] SERVICE OPERATION [parameters]`, plus the
//! high-level `s3` commands and `configure`. Both versions parse with Python's argparse, which
//! expands unambiguous prefixes of long options, so pinned flags are refused in abbreviated
//! spellings too (`--prof`, `--reg=eu-west-1`, `--endpoint`).

use super::{
    Class, Classification, FileArg, Options, Refusal, abbreviates, forbidden_spelling, split_long,
    verdict as done,
};

/// Global options that would change identity, target, endpoint or transport security, or
/// would print credentials (`--debug` logs signed request headers).
const PINNED: &[&str] = &[
    "--profile",
    "--region",
    "--endpoint-url",
    "--no-verify-ssl",
    "--ca-bundle",
    "--no-sign-request",
    "--debug",
];

/// Global options that take a value (so the next word is not a command word).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "--output",
    "--query",
    "--color",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--cli-binary-format",
    "--profile",
    "--region",
    "--endpoint-url",
    "--ca-bundle",
];

/// Parameters whose value is a whole request, read from wherever the value points.
const INPUT_DOCUMENT: &[&str] = &["--cli-input-json", "--cli-input-yaml"];

/// Operation-name prefixes of API calls that only read.
const READ_PREFIXES: &[&str] = &[
    "describe-",
    "list-",
    "get-",
    "head-",
    "search-",
    "lookup-",
    "batch-get-",
    "filter-",
    "validate-",
    "estimate-",
    "simulate-",
    "test-",
    "download-db-log-file-portion",
];

/// Operations that read without a read-looking prefix.
const READ_EXACT: &[&str] = &["scan", "query", "tail", "help", "wait", "ls"];

/// Operation-name prefixes of API calls known to change something (so they are writes, not
/// "unknown").
const WRITE_PREFIXES: &[&str] = &[
    "create-",
    "delete-",
    "put-",
    "update-",
    "modify-",
    "run-",
    "start-",
    "stop-",
    "terminate-",
    "reboot-",
    "attach-",
    "detach-",
    "associate-",
    "disassociate-",
    "authorize-",
    "revoke-",
    "tag-",
    "untag-",
    "add-",
    "remove-",
    "set-",
    "enable-",
    "disable-",
    "register-",
    "deregister-",
    "import-",
    "export-",
    "copy-",
    "restore-",
    "send-",
    "publish",
    "invoke",
    "replace-",
    "reset-",
    "cancel-",
    "upload-",
    "allocate-",
    "release-",
    "purge-",
    "rotate-",
    "restore-",
    "accept-",
    "reject-",
    "change-",
    "generate-",
    "rebuild-",
    "resize-",
    "promote-",
    "failover-",
    "execute-",
    "batch-",
];

/// Operations that print secret material or mint credentials: `(service, operation)`.
const SECRET_READS: &[(&str, &str)] = &[
    ("secretsmanager", "get-secret-value"),
    ("secretsmanager", "batch-get-secret-value"),
    ("sts", "get-session-token"),
    ("sts", "get-federation-token"),
    ("sts", "assume-role"),
    ("sts", "assume-role-with-saml"),
    ("sts", "assume-role-with-web-identity"),
    ("sts", "assume-root"),
    ("ecr", "get-login-password"),
    ("ecr", "get-login"),
    ("ecr", "get-authorization-token"),
    ("ecr-public", "get-login-password"),
    ("ecr-public", "get-authorization-token"),
    ("codeartifact", "get-authorization-token"),
    ("rds", "generate-db-auth-token"),
    ("redshift", "get-cluster-credentials"),
    ("redshift", "get-cluster-credentials-with-iam"),
    ("redshift-serverless", "get-credentials"),
    ("eks", "get-token"),
    ("kms", "decrypt"),
    ("kms", "generate-data-key"),
    ("kms", "generate-data-key-pair"),
    ("sso", "get-role-credentials"),
    ("cognito-identity", "get-credentials-for-identity"),
    ("cognito-identity", "get-open-id-token"),
    (
        "cognito-identity",
        "get-open-id-token-for-developer-identity",
    ),
    ("ec2", "get-password-data"),
    ("lightsail", "get-instance-access-details"),
    ("iam", "get-ssh-public-key"),
    ("s3", "presign"),
];

/// SSM reads that decrypt `SecureString` values when `--with-decryption` is given.
const SSM_DECRYPTING: &[&str] = &[
    "get-parameter",
    "get-parameters",
    "get-parameters-by-path",
    "get-parameter-history",
];

/// Operations whose output is a stream written to a positional OUTFILE.
const STREAMING_OUTPUT: &[(&str, &str)] = &[
    ("s3api", "get-object"),
    ("s3api", "get-object-torrent"),
    ("s3api", "select-object-content"),
    ("lambda", "invoke"),
    ("polly", "synthesize-speech"),
    ("sagemaker-runtime", "invoke-endpoint"),
    ("bedrock-runtime", "invoke-model"),
    ("kinesis-video-media", "get-media"),
    ("kinesis-video-archived-media", "get-clip"),
    (
        "kinesis-video-archived-media",
        "get-media-for-fragment-list",
    ),
    ("mediastore-data", "get-object"),
    ("glacier", "get-job-output"),
    ("apigateway", "get-export"),
    ("apigateway", "get-sdk"),
    ("ebs", "get-snapshot-block"),
    ("lexv2-runtime", "recognize-utterance"),
    ("lex-runtime", "post-content"),
    ("workmailmessageflow", "get-raw-message-content"),
];

/// Whether a bare word looks like a file path rather than a list value (`i-0abc`,
/// `Name=tag:env,Values=a`, `10.0.0.1`).
fn looks_like_path(word: &str) -> bool {
    if word.contains('=') || word.contains(',') {
        return false;
    }
    if word.starts_with('.') || word.starts_with('~') || word.contains('/') || word.contains('\\') {
        return true;
    }
    word.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && (1..=5).contains(&ext.len())
            && ext.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// Flags of the high-level `s3` commands that take no value; every other `--flag` takes one.
const S3_SWITCHES: &[&str] = &[
    "--recursive",
    "--dryrun",
    "--quiet",
    "--follow-symlinks",
    "--no-follow-symlinks",
    "--no-guess-mime-type",
    "--only-show-errors",
    "--no-progress",
    "--delete",
    "--exact-timestamps",
    "--size-only",
    "--force-glacier-transfer",
    "--ignore-glacier-warnings",
    "--human-readable",
    "--summarize",
    "--force",
    "--no-paginate",
    "--metadata-directive",
];

/// Classifies an `aws` command line (the words after `aws`).
pub fn classify(args: &[String], opts: &Options) -> Result<Classification, Refusal> {
    // Every option-looking word is checked, including one that stands where a value would:
    // argparse would read it as an option, never as the value.
    for arg in args {
        if let Some((name, _)) = split_long(arg)
            && let Some(full) = forbidden_spelling(name, PINNED, true, opts)
        {
            return Err(Refusal::new(arg, pinned_reason(full)));
        }
    }
    let mut positional: Vec<&str> = Vec::new();
    let mut files = Vec::new();
    let mut with_decryption = false;
    let mut version = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        if let Some((name, inline)) = split_long(arg) {
            if let Some(full) = forbidden_spelling(name, PINNED, true, opts) {
                return Err(Refusal::new(arg, pinned_reason(full)));
            }
            if abbreviates(name, "--with-decryption") {
                with_decryption = true;
            }
            if name == "--version" {
                version = true;
            }
            let takes_value = GLOBAL_WITH_VALUE.iter().any(|g| abbreviates(name, g))
                || (positional.len() >= 2 && !is_switch(positional[0], name));
            let value = match inline {
                Some(v) => Some(v),
                None if takes_value => {
                    let next = args.get(i + 1).map(String::as_str);
                    if next.is_some() {
                        i += 1;
                    }
                    next
                }
                None => None,
            };
            if let Some(value) = value {
                check_value(arg, name, value, &mut files)?;
            }
        } else {
            check_value(arg, "", arg, &mut files)?;
            positional.push(arg);
        }
        i += 1;
    }
    let Some(service) = positional.first().copied() else {
        if version {
            return Ok(done(
                vec!["--version".into()],
                Class::Read,
                false,
                "prints the CLI version",
                files,
            ));
        }
        return Err(Refusal::new(
            args.first().map_or("", String::as_str),
            "no service named (expected `aws SERVICE OPERATION …`)",
        ));
    };
    let service_l = service.to_ascii_lowercase();
    let operation = positional.get(1).map(|s| s.to_ascii_lowercase());
    let mut words = vec![service_l.clone()];
    words.extend(operation.clone());
    match (service_l.as_str(), operation.as_deref()) {
        ("help", _) | (_, Some("help")) => {
            Ok(done(words, Class::Read, false, "prints help", files))
        }
        ("configure", op) => Ok(match op {
            Some("set" | "add-model" | "import" | "sso" | "sso-session") | None => done(
                words,
                Class::Write,
                false,
                "changes the local AWS configuration",
                files,
            ),
            _ => done(
                words,
                Class::SecretRead,
                false,
                "prints local AWS configuration, credentials included",
                files,
            ),
        }),
        ("s3", Some(op)) => Ok(classify_s3(op, &positional[2..], words, files)),
        (_, None) => Err(Refusal::new(
            service,
            "no operation named (expected `aws SERVICE OPERATION …`)",
        )),
        (svc, Some(op)) => {
            // API operations with streaming output take one positional operand: the local
            // file they write (`s3api get-object … OUTFILE`, `lambda invoke … OUTFILE`).
            // Elsewhere extra words continue list values (`--instance-ids i-1 i-2`), but one
            // that looks like a path is taken as an output file too, so an operation missing
            // from the list still cannot write outside the workspace unseen.
            let streaming = STREAMING_OUTPUT.iter().any(|(s, o)| *s == svc && *o == op);
            let operands = if op == "wait" {
                positional.get(3..).unwrap_or_default()
            } else {
                &positional[2..]
            };
            let outfiles: Vec<&str> = operands
                .iter()
                .copied()
                .filter(|w| streaming || looks_like_path(w))
                .collect();
            let mut files = files;
            for out in &outfiles {
                files.push(FileArg {
                    path: (*out).to_string(),
                    write: true,
                });
            }
            if SECRET_READS.iter().any(|(s, o)| *s == svc && *o == op) {
                return Ok(done(
                    words,
                    Class::SecretRead,
                    false,
                    "prints secret material or credentials",
                    files,
                ));
            }
            if svc == "ssm" && SSM_DECRYPTING.contains(&op) && with_decryption {
                return Ok(done(
                    words,
                    Class::SecretRead,
                    false,
                    "`--with-decryption` prints SecureString values",
                    files,
                ));
            }
            if READ_EXACT.contains(&op) || READ_PREFIXES.iter().any(|p| op.starts_with(p)) {
                if !outfiles.is_empty() {
                    return Ok(done(
                        words,
                        Class::Write,
                        false,
                        "reads, but writes its output to a local file",
                        files,
                    ));
                }
                return Ok(done(
                    words,
                    Class::Read,
                    false,
                    "a read-only API call",
                    files,
                ));
            }
            if WRITE_PREFIXES.iter().any(|p| op.starts_with(p)) {
                return Ok(done(
                    words,
                    Class::Write,
                    false,
                    "an API call that changes resources",
                    files,
                ));
            }
            Ok(done(
                words,
                Class::Write,
                true,
                "an operation fathom does not know; counted as a write",
                files,
            ))
        }
    }
}

fn pinned_reason(flag: &str) -> String {
    match flag {
        "--debug" => "`--debug` logs signed requests; refused".to_string(),
        "--no-verify-ssl" | "--ca-bundle" => {
            format!("`{flag}` would weaken TLS verification of the pinned endpoint")
        }
        _ => format!("`{flag}` would change the integration's pinned identity, region or endpoint"),
    }
}

/// Whether `name` is a value-less switch of the high-level `s3` commands (API operations'
/// boolean parameters come as `--flag` / `--no-flag` pairs too, so `--no-*` counts as one).
fn is_switch(service: &str, name: &str) -> bool {
    if service.eq_ignore_ascii_case("s3") {
        return S3_SWITCHES.contains(&name);
    }
    name.starts_with("--no-") || is_api_switch(name)
}

/// Boolean parameters common across API operations (they take no value).
fn is_api_switch(name: &str) -> bool {
    matches!(
        name,
        "--dry-run"
            | "--with-decryption"
            | "--recursive"
            | "--force"
            | "--all"
            | "--generate-cli-skeleton"
            | "--no-paginate"
    ) || name.starts_with("--include-")
        || name.starts_with("--is-")
}

/// Values that load local files or remote URLs.
fn check_value(
    arg: &str,
    flag: &str,
    value: &str,
    files: &mut Vec<FileArg>,
) -> Result<(), Refusal> {
    let lower = value.to_ascii_lowercase();
    for prefix in ["file://", "fileb://"] {
        if lower.starts_with(prefix) {
            files.push(FileArg {
                path: value[prefix.len()..].to_string(),
                write: false,
            });
            return Ok(());
        }
    }
    // Operands (no flag) are S3 URLs or local paths; only parameter values are fetched.
    if (lower.starts_with("http://") || lower.starts_with("https://")) && !flag.is_empty() {
        let what = if INPUT_DOCUMENT.iter().any(|d| abbreviates(flag, d)) {
            "a request document"
        } else {
            "a parameter value"
        };
        return Err(Refusal::new(
            arg,
            format!("the aws CLI would fetch {what} from that URL; pass the content inline"),
        ));
    }
    Ok(())
}

/// The high-level `s3` commands: `ls`, `cp`, `mv`, `sync`, `rm`, `mb`, `rb`, `website`,
/// `presign`. Local paths are the operands that are not `s3://` URLs (or `-`, the standard
/// streams, which are null here).
fn classify_s3(
    op: &str,
    operands: &[&str],
    words: Vec<String>,
    mut files: Vec<FileArg>,
) -> Classification {
    let local = |s: &&&str| !s.to_ascii_lowercase().starts_with("s3://") && **s != "-";
    match op {
        "ls" => done(words, Class::Read, false, "lists buckets or objects", files),
        "presign" => done(
            words,
            Class::SecretRead,
            false,
            "mints a signed URL that grants access",
            files,
        ),
        "cp" | "mv" | "sync" => {
            if let Some(src) = operands.first().filter(local) {
                files.push(FileArg {
                    path: (*src).to_string(),
                    write: op == "mv",
                });
            }
            if let Some(dst) = operands.get(1).filter(local) {
                files.push(FileArg {
                    path: (*dst).to_string(),
                    write: true,
                });
            }
            done(
                words,
                Class::Write,
                false,
                "copies objects (into S3 or onto local disk)",
                files,
            )
        }
        "rm" | "mb" | "rb" | "website" => done(
            words,
            Class::Write,
            false,
            "changes buckets or objects",
            files,
        ),
        _ => done(
            words,
            Class::Write,
            true,
            "an s3 command fathom does not know; counted as a write",
            files,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::testing::argv;

    fn class_of(s: &str) -> Classification {
        classify(&argv(s), &Options::default()).unwrap_or_else(|r| panic!("{s}: refused: {r}"))
    }

    #[test]
    fn reads_writes_and_secrets() {
        let c = class_of("ec2 describe-instances --filters Name=tag:env,Values=staging");
        assert_eq!(c.words, ["ec2", "describe-instances"]);
        assert_eq!(c.class, Class::Read);
        for read in [
            "s3api list-buckets",
            "--output text s3api list-objects-v2 --bucket b",
            "dynamodb scan --table-name t",
            "logs filter-log-events --log-group-name g",
            "ec2 wait instance-running --instance-ids i-1",
            "s3 ls s3://bucket/prefix --recursive",
            "ssm get-parameter --name /app/db-host",
            "cloudformation validate-template --template-body {}",
            "ec2 help",
        ] {
            assert_eq!(class_of(read).class, Class::Read, "{read}");
        }
        for write in [
            "s3api create-bucket --bucket b",
            "ec2 run-instances --image-id ami-1",
            "lambda invoke --function-name f out.json",
            "s3 rm s3://b/k",
            "configure set region us-east-1",
            "configure",
        ] {
            let c = class_of(write);
            assert_eq!(c.class, Class::Write, "{write}");
            assert!(!c.unknown, "{write}");
        }
        let c = class_of("ec2 frobnicate-things");
        assert_eq!((c.class, c.unknown), (Class::Write, true));
        for secret in [
            "secretsmanager get-secret-value --secret-id prod/db",
            "ssm get-parameter --name /db/password --with-decryption",
            "ssm get-parameters-by-path --path / --with-decr",
            "sts get-session-token",
            "configure get aws_secret_access_key",
            "configure export-credentials",
            "ecr get-login-password",
            "s3 presign s3://b/k",
            "kms decrypt --ciphertext-blob fileb://x",
        ] {
            assert_eq!(class_of(secret).class, Class::SecretRead, "{secret}");
        }
    }

    #[test]
    fn pinned_flags_refused_in_every_spelling() {
        for bad in [
            "s3 ls --profile prod",
            "--profile prod s3 ls",
            "s3 ls --profile=prod",
            "s3 ls --prof prod",
            "s3 ls --p prod",
            "s3 ls --region us-east-1",
            "s3 ls --reg=us-east-1",
            "s3 ls --endpoint-url http://evil",
            "s3 ls --endpoint http://evil",
            "s3 ls --no-verify-ssl",
            "s3 ls --no-verify",
            "s3 ls --ca-bundle /tmp/ca.pem",
            "s3 ls --debug",
            "s3 ls --no-sign-request",
            "ec2 describe-vpcs --cli-input-json https://evil/x.json",
            "s3api list-buckets --query --profile prod",
            "s3api list-buckets --output --endpoint-url http://x",
            "s3api list-buckets --max-items --reg eu-west-1",
        ] {
            let r = classify(&argv(bad), &Options::default());
            assert!(r.is_err(), "{bad} accepted");
        }
        let opts = Options {
            allow_flags: vec!["--region".into()],
            ..Options::default()
        };
        assert!(classify(&argv("s3 ls --region us-east-1"), &opts).is_ok());
    }

    #[test]
    fn local_files_are_reported() {
        let c = class_of("s3 cp s3://b/k ./out/k.txt");
        assert_eq!(
            c.files,
            [FileArg {
                path: "./out/k.txt".into(),
                write: true
            }]
        );
        let c = class_of("ec2 run-instances --user-data file://boot.sh");
        assert_eq!(
            c.files,
            [FileArg {
                path: "boot.sh".into(),
                write: false
            }]
        );
        let c = class_of("ec2 describe-vpcs --cli-input-json=file:///etc/passwd");
        assert_eq!(c.files[0].path, "/etc/passwd");
        // Streaming output lands in a local file: a write, confined by the caller.
        let c = class_of("s3api get-object --bucket b --key k /tmp/outfile");
        assert_eq!(c.class, Class::Write);
        assert_eq!(
            c.files,
            [FileArg {
                path: "/tmp/outfile".into(),
                write: true
            }]
        );
        let c = class_of("lambda invoke --function-name f out.json");
        assert_eq!(
            c.files,
            [FileArg {
                path: "out.json".into(),
                write: true
            }]
        );
    }

    #[test]
    fn shell_metacharacters_are_plain_values() {
        let c = class_of("s3api list-buckets --query $(touch${IFS}/tmp/pwned)");
        assert_eq!(c.class, Class::Read);
        let c = class_of("ec2 describe-vpcs --filters ;rm -rf /;");
        assert_eq!(c.words, ["ec2", "describe-vpcs"]);
    }
}
