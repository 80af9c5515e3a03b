//! `preview` and `preview_change` against real terraform 1.0.3 and the test provider. For
//! every scenario the tool's counts must equal terraform's own `Plan: X to add, Y to change,
//! Z to destroy` line (the independent oracle), and the expected risk must show.

mod common;

use std::time::{Duration, Instant};

use common::terraform::Tf;
use common::{Client, Scratch, call, connect_with_env, dep, processes_in, text};
use serde_json::{Value, json};

const CANARY: &str = "canary-preview-db-password-61d0";
const CANARY2: &str = "canary-preview-rotated-pw-93ab";

fn config(engine: &str, storage: u32, image: &str, rules: u32, with_bucket: bool) -> String {
    let bucket = if with_bucket {
        "resource \"fathomtest_bucket\" \"logs\" {\n  name = \"preview-logs\"\n}\n"
    } else {
        ""
    };
    format!(
        r#"
variable "db_password" {{
  type      = string
  sensitive = true
  default   = "{CANARY}"
}}

resource "fathomtest_database" "payments" {{
  name                = "payments"
  engine              = "{engine}"
  storage_gb          = {storage}
  deletion_protection = true
  password            = var.db_password
}}

resource "fathomtest_instance" "web" {{
  name  = "web-1"
  size  = "small"
  image = "{image}"
  lifecycle {{
    create_before_destroy = true
  }}
}}

module "net" {{
  source    = "./modules/net"
  rules     = {rules}
  target_id = fathomtest_instance.web.id
}}

{bucket}
output "db_endpoint" {{
  value = fathomtest_database.payments.endpoint
}}
"#
    )
}

const NET: &str = r#"
terraform {
  required_providers {
    fathomtest = { source = "example.com/test/fathomtest" }
  }
}
variable "target_id" {
  type = string
}
variable "rules" {
  type = number
}
resource "fathomtest_network_rule" "ingress" {
  count     = var.rules
  name      = "ingress-${count.index}"
  port      = 443 + count.index
  target_id = var.target_id
}
"#;

struct Setup {
    ws: Scratch,
    tf: Tf,
}

fn setup(tag: &str) -> Setup {
    let ws = Scratch::new(tag);
    std::fs::create_dir_all(ws.join("infra")).expect("mkdir");
    let tf = Tf::new(&ws.join("infra"));
    tf.write_file("modules/net/main.tf", NET);
    tf.write_main(&config("postgres", 100, "debian-12", 2, true));
    tf.run(&["get"]);
    tf.apply();
    let terraform = dep("terraform/terraform");
    ws.write(
        "fathom.toml",
        format!(
            "[preview]\nterraform_program = \"{}\"\ninterrupt_grace_secs = 5\n\n[risk]\nstateful_types = [\"fathomtest_database\", \"fathomtest_bucket\"]\nmany_dependents = 2\n",
            terraform.display()
        ),
    );
    Setup { ws, tf }
}

fn env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vec![
        (
            "TF_CLI_CONFIG_FILE".to_string(),
            dep("terraform/terraformrc").display().to_string(),
        ),
        ("CHECKPOINT_DISABLE".to_string(), "1".to_string()),
    ];
    v.extend(
        extra
            .iter()
            .map(|(k, val)| (k.to_string(), val.to_string())),
    );
    v
}

/// terraform's own summary line for the current configuration.
fn terraform_counts(tf: &Tf) -> (u64, u64, u64) {
    let out = tf.run(&["plan", "-no-color", "-input=false", "-lock=false"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if stdout.contains("No changes.") {
        return (0, 0, 0);
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Plan: "))
        .unwrap_or_else(|| panic!("no Plan: line in\n{stdout}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("number"))
        .collect();
    (nums[0], nums[1], nums[2])
}

async fn preview(client: &Client, args: Value) -> (String, Value) {
    let r = call(client, "preview", args).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(false), "{t}");
    (t, r.structured_content.expect("structured"))
}

fn counts(s: &Value) -> (u64, u64, u64) {
    let c = &s["counts"];
    (
        c["add"].as_u64().unwrap(),
        c["change"].as_u64().unwrap(),
        c["destroy"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn scenarios_match_terraforms_own_counts() {
    let Setup { ws, tf } = setup("pv-scen");
    let client = connect_with_env(&ws.path, &env(&[])).await;
    let mut everything = String::new();

    // 0. No changes.
    let (t, s) = preview(&client, json!({"stack": "infra"})).await;
    assert_eq!(counts(&s), terraform_counts(&tf));
    assert!(t.contains("No changes") && t.contains("SAFE"), "{t}");

    // 1. In-place update: safe.
    tf.write_main(&config("postgres", 200, "debian-12", 2, true));
    let (t, s) = preview(&client, json!({"stack": "infra"})).await;
    assert_eq!(counts(&s), terraform_counts(&tf));
    assert_eq!(counts(&s), (0, 1, 0));
    assert_eq!(s["risk"], json!("safe"), "{t}");
    let id = s["preview_id"].as_str().unwrap().to_string();
    let r = call(
        &client,
        "preview_change",
        json!({"preview_id": id, "address": "fathomtest_database.payments"}),
    )
    .await;
    let ct = text(&r);
    everything.push_str(&ct);
    assert!(ct.contains("storage_gb: 100 → 200"), "{ct}");

    // 2. Forced replacement of a protected, stateful database; a count change in a module;
    //    create-before-destroy replacement; deletion by removing config.
    tf.write_main(&config("mysql", 200, "debian-13", 3, false).replace(CANARY, CANARY2));
    let (t, s) = preview(&client, json!({"stack": "infra"})).await;
    everything.push_str(&t);
    everything.push_str(&s.to_string());
    assert_eq!(counts(&s), terraform_counts(&tf), "{t}");
    assert_eq!(s["risk"], json!("dangerous"));
    // The instance is replaced create-first; its id changes, which forces the two rules that
    // reference it to be replaced too.
    assert!(
        t.starts_with("Plan: 5 to add, 0 to change, 5 to destroy (4 replace) — DANGEROUS"),
        "{t}"
    );
    assert!(t.contains("[downtime] module.net.fathomtest_network_rule.ingress[0]: delete-before-create replacement (target_id forces replacement)"), "{t}");
    assert!(t.contains("[stateful] fathomtest_database.payments: replaces stateful fathomtest_database (engine forces replacement)"), "{t}");
    assert!(
        t.contains("[protected] fathomtest_database.payments: deletion_protection = true"),
        "{t}"
    );
    assert!(
        t.contains("[stateful] fathomtest_bucket.logs: deletes stateful fathomtest_bucket"),
        "{t}"
    );
    assert!(
        t.contains("replace (delete first)  fathomtest_database.payments  DANGEROUS"),
        "{t}"
    );
    assert!(
        t.contains("replace (create first)  fathomtest_instance.web"),
        "{t}"
    );
    assert!(
        t.contains("create  module.net.fathomtest_network_rule.ingress[2]"),
        "{t}"
    );
    // The riskiest come first.
    let first_change = t
        .lines()
        .skip_while(|l| !l.starts_with("changes"))
        .nth(1)
        .unwrap_or("");
    assert!(first_change.contains("DANGEROUS"), "{t}");
    let id = s["preview_id"].as_str().unwrap().to_string();
    let r = call(
        &client,
        "preview_change",
        json!({"preview_id": id, "address": "fathomtest_database.payments"}),
    )
    .await;
    let ct = text(&r);
    everything.push_str(&ct);
    assert!(
        ct.contains("engine: \"postgres\" → \"mysql\"  # forces replacement"),
        "{ct}"
    );
    assert!(
        ct.contains("password: \"[sensitive]\" → \"[sensitive]\""),
        "a changed secret shows masked: {ct}"
    );
    assert!(
        ct.contains("id: ") && ct.contains("(known after apply)"),
        "{ct}"
    );
    let rs = r.structured_content.unwrap();
    assert_eq!(rs["replace_paths"], json!(["engine"]));

    // Every change links to the block that declares it, in the root or the child module: the
    // line is found here by reading the files terraform planned.
    let mut linked = 0;
    for change in s["changes"].as_array().cloned().unwrap_or_default() {
        let address = change["address"].as_str().unwrap_or_default().to_string();
        let (file, local) = match address.strip_prefix("module.net.") {
            Some(rest) => ("modules/net/main.tf", rest.to_string()),
            None => ("main.tf", address.clone()),
        };
        let local = local.split('[').next().unwrap_or_default().to_string();
        let (rtype, name) = local.split_once('.').unwrap();
        let source = std::fs::read_to_string(tf.dir.join(file)).unwrap();
        let line = source.lines().position(|l| {
            l.trim_start()
                .starts_with(&format!("resource \"{rtype}\" \"{name}\""))
        });
        let r = call(
            &client,
            "preview_change",
            json!({"preview_id": id, "address": address}),
        )
        .await;
        let ct = text(&r);
        match line {
            Some(n) => {
                let want = format!("declared at infra/{file}:{}", n + 1);
                assert!(ct.contains(&want), "{address}: want `{want}` in {ct}");
                linked += 1;
            }
            // Removed from the configuration: nothing to point at.
            None => assert!(!ct.contains("declared at"), "{address}: {ct}"),
        }
    }
    assert_eq!(linked, 5, "changes linked to source");

    // A resource guarded by prevent_destroy: terraform refuses to plan its replacement, and
    // the answer says which resource, which rule, and where.
    tf.write_main(&config("mysql", 100, "debian-12", 2, true).replace(
        "  deletion_protection = true\n",
        "  deletion_protection = true\n  lifecycle {\n    prevent_destroy = true\n  }\n",
    ));
    let r = call(&client, "preview", json!({"stack": "infra"})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains("cannot be destroyed"), "{t}");
    assert!(
        t.contains("fathomtest_database.payments") && t.contains("main.tf:"),
        "{t}"
    );
    assert!(t.contains("prevent_destroy"), "{t}");

    // Deleting the protected database by removing it from the configuration.
    let full = config("postgres", 100, "debian-12", 2, true);
    let start = full
        .find("resource \"fathomtest_database\" \"payments\"")
        .unwrap();
    let end = start + full[start..].find("\n}\n").unwrap() + 3;
    let out_start = full.find("output \"db_endpoint\"").unwrap();
    let without_db = format!("{}{}", &full[..start], &full[end..out_start]);
    tf.write_main(&without_db);
    let (t, s) = preview(&client, json!({"stack": "infra"})).await;
    assert_eq!(counts(&s), terraform_counts(&tf), "{t}");
    assert!(
        t.contains("delete  fathomtest_database.payments  DANGEROUS"),
        "{t}"
    );
    assert!(
        t.contains("[protected] fathomtest_database.payments: deletion_protection = true"),
        "{t}"
    );

    // 3. Tainted resource.
    tf.write_main(&config("postgres", 100, "debian-12", 2, true));
    tf.run(&["taint", "fathomtest_instance.web"]);
    let (t, s) = preview(&client, json!({"stack": "infra"})).await;
    assert_eq!(counts(&s), terraform_counts(&tf), "{t}");
    assert!(
        t.contains("replace (create first)  fathomtest_instance.web"),
        "{t}"
    );
    tf.run(&["untaint", "fathomtest_instance.web"]);

    // 4. Targets narrow the plan.
    tf.write_main(&config("postgres", 300, "debian-13", 2, true));
    let (t, s) = preview(
        &client,
        json!({"stack": "infra", "targets": ["fathomtest_database.payments"], "refresh": false}),
    )
    .await;
    assert_eq!(counts(&s), (0, 1, 0), "{t}");

    client.cancel().await.ok();
    let audit = std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).unwrap();
    for canary in [CANARY, CANARY2] {
        assert!(!everything.contains(canary), "a sensitive value leaked");
        assert!(!audit.contains(canary));
    }
    // Plan files (which hold secrets) are not left behind.
    let left: Vec<_> = std::fs::read_dir(ws.join(".fathom/plans"))
        .map(|d| d.flatten().count())
        .into_iter()
        .collect();
    assert_eq!(left, vec![0], "binary plans must be deleted after reading");
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_plans_bad_input_and_missing_cli() {
    let Setup { ws, tf } = setup("pv-files");
    tf.write_main(&config("postgres", 150, "debian-12", 2, true));
    let plan = tf.plan_file("saved.tfplan");
    let json_plan = tf.show_plan_json(&plan);
    ws.write("plans/saved.json", json_plan.to_string());
    ws.write(
        "plans/broken.json",
        "{\"format_version\": \"1.0\", \"resource_changes\": [",
    );
    let mut future = json_plan.clone();
    future["format_version"] = json!("9.0");
    ws.write("plans/future.json", future.to_string());
    let outside = Scratch::new("pv-outside");
    outside.write("plan.json", json_plan.to_string());
    let client = connect_with_env(&ws.path, &env(&[])).await;

    let (_, s) = preview(&client, json!({"plan_file": "plans/saved.json"})).await;
    assert_eq!(counts(&s), (0, 1, 0));
    let (_, s) = preview(
        &client,
        json!({"stack": "infra", "plan_file": "infra/saved.tfplan"}),
    )
    .await;
    assert_eq!(counts(&s), (0, 1, 0), "binary plan read through the CLI");
    let (t, _) = preview(&client, json!({"plan_file": "plans/future.json"})).await;
    assert!(t.contains("format_version 9.0 is newer"), "{t}");
    // A destroy plan saved by the user: everything goes.
    tf.run(&[
        "plan",
        "-destroy",
        "-input=false",
        "-no-color",
        "-out=destroy.tfplan",
    ]);
    let (t, s) = preview(
        &client,
        json!({"stack": "infra", "plan_file": "infra/destroy.tfplan"}),
    )
    .await;
    assert_eq!(s["risk"], json!("dangerous"));
    assert!(
        t.contains("[destroy-all] (plan): destroys every resource in the state"),
        "{t}"
    );

    for (args, expected) in [
        (json!({"plan_file": "plans/broken.json"}), "not valid JSON"),
        (
            json!({"plan_file": outside.join("plan.json").display().to_string()}),
            "outside the workspace",
        ),
        (json!({"plan_file": "infra/saved.tfplan"}), "binary plan"),
        (json!({}), "neither `stack` nor `plan_file`"),
        (json!({"stack": "nope"}), "no stack `nope`"),
    ] {
        let r = call(&client, "preview", args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{args}");
        let t = text(&r);
        assert!(t.contains(expected) && t.contains("Next:"), "{args}: {t}");
    }
    client.cancel().await.ok();

    ws.write(
        "fathom.toml",
        "[preview]\nterraform_program = \"fathom-no-such-terraform\"\n",
    );
    let client = connect_with_env(&ws.path, &env(&[])).await;
    let r = call(&client, "preview", json!({"stack": "infra"})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(
        t.contains("`fathom-no-such-terraform` is not installed"),
        "{t}"
    );
    assert!(t.contains("preview.terraform_program"), "{t}");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_plans_time_out_and_release_the_lock() {
    let Setup { ws, tf } = setup("pv-slow");
    tf.write_main(&config("postgres", 120, "debian-12", 2, true));
    let terraform = dep("terraform/terraform");
    ws.write(
        "fathom.toml",
        format!(
            "[preview]\nterraform_program = \"{}\"\ntimeout_secs = 2\ninterrupt_grace_secs = 10\n",
            terraform.display()
        ),
    );
    let client = connect_with_env(&ws.path, &env(&[("FATHOMTEST_READ_SLEEP_MS", "20000")])).await;
    let started = Instant::now();
    let r = call(&client, "preview", json!({"stack": "infra"})).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("did not finish within 2 s"), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    client.cancel().await.ok();
    // Nothing of the process group survives, and the state lock was released.
    std::thread::sleep(Duration::from_millis(800));
    let left = processes_in(&ws.path);
    assert!(left.is_empty(), "processes survived the timeout: {left:?}");
    assert!(
        !ws.join("infra/.terraform.tfstate.lock.info").exists(),
        "the state lock was left behind"
    );
    let out = tf.try_run(&["plan", "-no-color", "-input=false", "-lock-timeout=0s"]);
    assert!(
        out.status.success(),
        "state still locked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client that cancels a running preview: the engine is interrupted, nothing survives, and
/// the lock is released.
#[test]
fn cancelled_previews_stop_the_engine() {
    use std::io::{BufRead, BufReader, Write};
    let Setup { ws, tf } = setup("pv-cancel");
    tf.write_main(&config("postgres", 130, "debian-12", 2, true));
    let mut cmd = std::process::Command::new(common::fathom());
    cmd.args(["serve", "--workspace"])
        .arg(&ws.path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (k, v) in env(&[("FATHOMTEST_READ_SLEEP_MS", "30000")]) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut send = |v: Value| {
        stdin.write_all(format!("{v}\n").as_bytes()).expect("write");
        stdin.flush().expect("flush");
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
    );
    lines.next().expect("init").expect("read");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    // Without refresh the plan is quick, and reports progress while it runs.
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "preview", "arguments": {"stack": "infra", "refresh": false}, "_meta": {"progressToken": "pv"}}}),
    );
    let mut progress = Vec::new();
    loop {
        let line = lines.next().expect("server closed").expect("read");
        let v: Value = serde_json::from_str(&line).expect("json");
        if v["method"] == json!("notifications/progress") {
            assert_eq!(v["params"]["progressToken"], json!("pv"));
            progress.push(v["params"]["message"].as_str().unwrap_or("").to_string());
        } else if v["id"] == json!(2) {
            assert_eq!(v["result"]["isError"], json!(false), "{v}");
            break;
        }
    }
    assert!(
        progress.iter().any(|m| m.contains("planned")),
        "no progress: {progress:?}"
    );
    // With refresh, the provider's reads are slow: cancel mid-plan.
    send(
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "preview", "arguments": {"stack": "infra"}}}),
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !processes_in(&ws.path).is_empty(),
        "the plan should be running"
    );
    let started = Instant::now();
    send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4, "reason": "user"}}),
    );
    // The server stays responsive and the engine goes away within the interrupt grace.
    send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}));
    loop {
        let line = lines.next().expect("server closed").expect("read");
        let v: Value = serde_json::from_str(&line).expect("json");
        if v["id"] == json!(3) {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = processes_in(&ws.path);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running {:?} after cancel: {left:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !ws.join("infra/.terraform.tfstate.lock.info").exists(),
        "the state lock was left behind"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A Pulumi preview (`pulumi preview --json`, written here following its documented shape):
/// a protected table being replaced, a retained queue deleted, a secret input changed.
#[tokio::test]
async fn pulumi_previews_get_verdicts_and_keep_secrets() {
    let ws = Scratch::new("pv-pulumi");
    let sig = "4dabf18193072939515e22adb298388d";
    let secret =
        |v: &str| json!({sig: "1b47061264138c4ac30d75fd1eb44270", "plaintext": format!("\"{v}\"")});
    let urn = |t: &str, n: &str| format!("urn:pulumi:dev::shop::{t}::{n}");
    let table = urn("aws:dynamodb/table:Table", "orders");
    let queue = urn("aws:sqs/queue:Queue", "jobs");
    let func = urn("aws:lambda/function:Function", "api");
    let doc = json!({
        "steps": [
            {"op": "create-replacement", "urn": table, "newState": {"type": "aws:dynamodb/table:Table", "inputs": {"hashKey": "pk"}},
             "detailedDiff": {"hashKey": {"kind": "update-replace"}}},
            {"op": "replace", "urn": table,
             "oldState": {"type": "aws:dynamodb/table:Table", "protect": true, "inputs": {"hashKey": "id"}},
             "newState": {"type": "aws:dynamodb/table:Table", "inputs": {"hashKey": "pk"}},
             "replaceReasons": ["hashKey"], "detailedDiff": {"hashKey": {"kind": "update-replace"}}},
            {"op": "delete-replaced", "urn": table, "oldState": {"type": "aws:dynamodb/table:Table", "protect": true}},
            {"op": "delete", "urn": queue, "oldState": {"type": "aws:sqs/queue:Queue", "retainOnDelete": true, "inputs": {}}},
            {"op": "update", "urn": func,
             "oldState": {"type": "aws:lambda/function:Function", "inputs": {"env": {"API_KEY": secret(CANARY)}, "memory": 128}},
             "newState": {"type": "aws:lambda/function:Function", "inputs": {"env": {"API_KEY": secret(CANARY2)}, "memory": 256}},
             "diffReasons": ["env", "memory"]}
        ],
        "changeSummary": {"replace": 1, "delete": 1, "update": 1}
    });
    ws.write("preview.json", doc.to_string());
    let client = common::connect(&ws.path).await;
    let (t, s) = preview(&client, json!({"plan_file": "preview.json"})).await;
    assert!(
        t.starts_with("Plan: 1 to add, 1 to change, 2 to destroy (1 replace) — DANGEROUS"),
        "{t}"
    );
    assert!(
        t.contains("[stateful]")
            && t.contains(
                "orders: replaces stateful aws:dynamodb/table:Table (hashKey forces replacement)"
            ),
        "{t}"
    );
    assert!(
        t.contains("[protected]") && t.contains("protect is set"),
        "{t}"
    );
    assert!(t.contains("[retained]"), "{t}");
    assert!(t.contains("replace (create first)"), "{t}");
    let id = s["preview_id"].as_str().unwrap().to_string();
    let r = call(
        &client,
        "preview_change",
        json!({"preview_id": id, "address": func}),
    )
    .await;
    let ct = text(&r);
    assert!(ct.contains("memory: 128 → 256"), "{ct}");
    let all = format!("{t}{s}{ct}{}", serde_json::to_string(&r).unwrap());
    for c in [CANARY, CANARY2] {
        assert!(!all.contains(c), "secret leaked: {all}");
    }
    client.cancel().await.ok();
}

/// A Pulumi stack previews through `pulumi preview --json --diff`; when that CLI is missing the
/// error names the program and the setting (no registry here carries the Pulumi CLI, so the
/// live run itself cannot be exercised in CI).
#[tokio::test]
async fn pulumi_stack_without_its_cli_gets_a_clear_error() {
    let ws = Scratch::new("pv-pulumi-cli");
    ws.write("app/Pulumi.yaml", "name: shop\nruntime: nodejs\n")
        .write("app/Pulumi.dev.yaml", "config: {}\n")
        .write(
            "fathom.toml",
            "[preview]\npulumi_program = \"fathom-no-such-pulumi\"\n",
        );
    let client = connect_with_env(&ws.path, &[]).await;
    let (t, s) = {
        let r = call(&client, "stacks", json!({})).await;
        (text(&r), r.structured_content.unwrap_or_default())
    };
    let id = s["stacks"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find_map(|x| x["id"].as_str().filter(|i| i.ends_with("/dev")))
        })
        .unwrap_or_else(|| panic!("no Pulumi stack discovered: {t}"))
        .to_string();
    let r = call(&client, "preview", json!({"stack": id})).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(
        t.contains("`fathom-no-such-pulumi` is not installed"),
        "{t}"
    );
    assert!(t.contains("pulumi_program"), "{t}");
    client.cancel().await.ok();
}
