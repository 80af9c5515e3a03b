//! The state tools through a real MCP client, on Pulumi file backends written here following
//! Pulumi's documented checkpoint format (secrets, protect, pending operations, components,
//! compression, history) and on broken inputs. Canary secrets must never come back.

mod common;

use std::io::Write;

use common::{Scratch, call, connect, text};
use serde_json::{Value, json};

const SIG: &str = "4dabf18193072939515e22adb298388d";
const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
const CANARY_PLAIN: &str = "canary-pulumi-plaintext-93f1";
const CANARY_TF_ATTR: &str = "canary-tf-sensitive-attr-51c2";
const CANARY_TF_OUT: &str = "canary-tf-sensitive-output-7d0e";

fn urn(t: &str, name: &str) -> String {
    format!("urn:pulumi:dev::shop::{t}::{name}")
}

/// A Pulumi deployment for project `shop`, stack `dev`, with `n_buckets` extra buckets.
fn deployment(n_buckets: usize, db_class: &str) -> Value {
    let stack = urn("pulumi:pulumi:Stack", "shop-dev");
    let provider = urn("pulumi:providers:aws", "default");
    let component = urn("shop:index:Database", "orders");
    let db = urn("shop:index:Database$aws:rds/instance:Instance", "orders-db");
    let mut resources = vec![
        json!({"urn": stack, "custom": false, "type": "pulumi:pulumi:Stack",
               "outputs": {"endpoint": "orders.example.internal",
                           "dbPassword": {SIG: SECRET_SIG, "plaintext": format!("\"{CANARY_PLAIN}\"")}}}),
        json!({"urn": provider, "custom": true, "id": "prov-1", "type": "pulumi:providers:aws", "parent": stack}),
        json!({"urn": component, "custom": false, "type": "shop:index:Database", "parent": stack}),
        json!({"urn": db, "custom": true, "id": "orders-db-1a2b", "type": "aws:rds/instance:Instance",
               "parent": component, "protect": true, "provider": format!("{provider}::prov-1"),
               "outputs": {"instanceClass": db_class, "engine": "postgres",
                           "password": {SIG: SECRET_SIG, "plaintext": format!("\"{CANARY_PLAIN}\"")},
                           "masterUserSecret": {SIG: SECRET_SIG, "ciphertext": "AAABBBCCC"}},
               "sourcePosition": "project:///index.ts#10,5"}),
        json!({"urn": urn("shop:index:Database$aws:rds/parameterGroup:ParameterGroup", "orders-params"),
               "custom": true, "id": "orders-params", "type": "aws:rds/parameterGroup:ParameterGroup",
               "parent": component, "retainOnDelete": true, "deletedWith": db, "outputs": {"family": "postgres15"}}),
        json!({"urn": urn("aws:lambda/function:Function", "api"), "custom": true, "id": "api-fn",
               "type": "aws:lambda/function:Function", "dependencies": [db], "outputs": {"runtime": "nodejs20.x"}}),
        json!({"urn": urn("aws:apigateway/restApi:RestApi", "gw"), "custom": true, "id": "gw-1",
               "type": "aws:apigateway/restApi:RestApi",
               "propertyDependencies": {"body": [urn("aws:lambda/function:Function", "api")]}, "outputs": {}}),
    ];
    for i in 0..n_buckets {
        resources.push(
            json!({"urn": urn("aws:s3/bucket:Bucket", &format!("assets-{i:03}")),
            "custom": true, "id": format!("assets-{i:03}-bucket"), "type": "aws:s3/bucket:Bucket",
            "outputs": {"bucket": format!("assets-{i:03}-bucket")}}),
        );
    }
    json!({
        "manifest": {"time": "2026-11-20T10:00:00Z", "magic": "m", "version": "v3.140.0"},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc"}},
        "resources": resources,
        "pending_operations": [
            {"resource": {"urn": urn("aws:sqs/queue:Queue", "jobs"), "custom": true, "type": "aws:sqs/queue:Queue"},
             "type": "creating"}
        ]
    })
}

fn pulumi_workspace() -> Scratch {
    let ws = Scratch::new("pulumi");
    ws.write("shop/Pulumi.yaml", "name: shop\nruntime: nodejs\n");
    ws.write("shop/Pulumi.dev.yaml", "config: {}\n");
    ws.write("shop/Pulumi.prod.yaml", "config: {}\n");
    let current = json!({"version": 3, "checkpoint": {"stack": "dev", "latest": deployment(150, "db.r6g.large")}});
    // The current stack file compressed, as `PULUMI_SELF_MANAGED_STATE_GZIP=true` writes it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(current.to_string().as_bytes()).unwrap();
    ws.write("shop/.pulumi/stacks/shop/dev.json.gz", gz.finish().unwrap());
    let older = json!({"version": 3, "checkpoint": {"stack": "dev", "latest": deployment(148, "db.t3.medium")}});
    ws.write(
        "shop/.pulumi/history/shop/dev/dev-1794994200000000000.checkpoint.json",
        older.to_string(),
    );
    // An update in progress holds a lock.
    ws.write(
        "shop/.pulumi/locks/organization/shop/dev/8d0c6f1e.json",
        r#"{"pid": 4242, "username": "ci", "hostname": "runner", "timestamp": "2026-11-25T10:00:00Z"}"#,
    );
    // A Terraform root with sensitive values in plain text.
    ws.write(
        "tf/main.tf",
        "resource \"aws_db_instance\" \"main\" {\n  password = var.pw\n}\n",
    );
    ws.write(
        "tf/terraform.tfstate",
        json!({
            "version": 4, "terraform_version": "1.9.0", "serial": 3, "lineage": "l-1",
            "outputs": {"pw": {"value": CANARY_TF_OUT, "type": "string", "sensitive": true},
                        "host": {"value": "db.internal", "type": "string"}},
            "resources": [{"mode": "managed", "type": "aws_db_instance", "name": "main",
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": "db-1", "password": CANARY_TF_ATTR, "extra": {"note": CANARY_TF_ATTR}},
                    "sensitive_attributes": [[{"type": "get_attr", "value": "password"}],
                                             [{"type": "get_attr", "value": "extra"}, {"type": "index", "value": {"value": "note", "type": "string"}}]]}]}]
        })
        .to_string(),
    );
    ws
}

fn assert_no_canary(what: &str, s: &str) {
    for c in [CANARY_PLAIN, CANARY_TF_ATTR, CANARY_TF_OUT] {
        assert!(!s.contains(c), "{what} leaked {c}: {s}");
    }
}

#[tokio::test]
async fn pulumi_state_answers_compactly_with_secrets_masked() {
    let ws = pulumi_workspace();
    let client = connect(&ws.path).await;
    let mut everything = String::new();

    let r = call(&client, "stacks", json!({})).await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(t.starts_with("3 stacks"), "{t}");
    assert!(t.contains("shop/dev  pulumi  file backend shop  156 resources  2 outputs  updated 2026-11-20T10:00:00Z  2 versions"), "{t}");
    assert!(t.contains("1 pending operation"), "{t}");
    assert!(
        t.contains("locked: shop/.pulumi/locks/organization/shop/dev/8d0c6f1e.json"),
        "{t}"
    );
    assert!(
        t.contains("shop/prod"),
        "a stack with config but no state is listed: {t}"
    );
    assert!(
        t.contains("tf  terraform  local terraform.tfstate  1 resources  2 outputs  serial 3"),
        "{t}"
    );

    // Counts by type first, then one line per resource; providers and the stack entry hidden.
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "dev", "limit": 20}),
    )
    .await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.starts_with("shop/dev: 156 resources\nby type: aws:s3/bucket:Bucket 150"),
        "{t}"
    );
    assert_eq!(
        t.lines()
            .filter(|l| l.contains("  [") || l.contains("::"))
            .count(),
        20,
        "{t}"
    );
    let s = r.structured_content.clone().unwrap();
    assert_eq!(s["matched"], json!(156));
    let cursor = s["next_cursor"].as_str().expect("cursor").to_string();
    let mut seen: Vec<String> = s["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["address"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let r = call(
            &client,
            "stack_resources",
            json!({"stack": "dev", "limit": 20, "cursor": c}),
        )
        .await;
        let s = r.structured_content.unwrap();
        seen.extend(
            s["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["address"].as_str().unwrap().to_string()),
        );
        cursor = s
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    assert_eq!(seen.len(), 156);
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 156, "pages overlap");

    // Filters.
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "shop/dev", "flag": "protected"}),
    )
    .await;
    assert!(
        text(&r).contains("rds/instance:Instance::orders-db  orders-db-1a2b  [protected]"),
        "{}",
        text(&r)
    );
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "dev", "flag": "pending"}),
    )
    .await;
    assert!(
        text(&r).contains("jobs") && text(&r).contains("pending:creating"),
        "{}",
        text(&r)
    );
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "dev", "module": "orders"}),
    )
    .await;
    assert_eq!(r.structured_content.unwrap()["matched"], json!(2));
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "dev", "type": "aws:lambda*"}),
    )
    .await;
    assert_eq!(r.structured_content.unwrap()["matched"], json!(1));
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "dev", "flag": "shiny"}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("protected, retain-on-delete"),
        "{}",
        text(&r)
    );

    // One resource: masked secrets, dependents (transitive), children, source position.
    let r = call(
        &client,
        "stack_resource",
        json!({"stack": "dev", "address": "orders-db"}),
    )
    .await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(t.contains("flags: protected"), "{t}");
    assert!(t.contains("password = [secret]"), "{t}");
    assert!(t.contains("masterUserSecret = [secret]"), "{t}");
    assert!(t.contains("source: project:///index.ts#10,5"), "{t}");
    let s = r.structured_content.unwrap();
    let direct: Vec<&str> = s["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        direct.len(),
        2,
        "lambda depends on it, the parameter group is deleted with it: {direct:?}"
    );
    assert_eq!(
        s["transitive_dependents_count"],
        json!(3),
        "gateway depends on the lambda: {s}"
    );
    let r = call(
        &client,
        "stack_resource",
        json!({"stack": "dev", "address": "orders"}),
    )
    .await;
    let s = r.structured_content.unwrap();
    assert_eq!(s["mode"], json!("component"));
    assert_eq!(s["children"].as_array().unwrap().len(), 2);

    // Outputs.
    let r = call(&client, "stack_outputs", json!({"stack": "dev"})).await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.contains("dbPassword = [secret]") && t.contains("endpoint = orders.example.internal"),
        "{t}"
    );
    let r = call(&client, "stack_outputs", json!({"stack": "tf"})).await;
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(text(&r).contains("pw = [sensitive]"), "{}", text(&r));

    // History from the file backend.
    let r = call(&client, "stack_history", json!({"stack": "dev"})).await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.contains("-1 → current: 2 added, 0 removed, 1 changed"),
        "{t}"
    );
    assert!(
        t.contains("+ urn:pulumi:dev::shop::aws:s3/bucket:Bucket::assets-148"),
        "{t}"
    );
    assert!(t.contains("orders-db: instanceClass"), "{t}");
    assert!(
        !t.contains("password"),
        "a masked secret must not show up as changed: {t}"
    );

    // Terraform sensitive attributes.
    let r = call(
        &client,
        "stack_resource",
        json!({"stack": "tf", "address": "aws_db_instance.main"}),
    )
    .await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.contains("password = [sensitive]") && t.contains("extra.note = [sensitive]"),
        "{t}"
    );

    client.cancel().await.ok();
    assert_no_canary("tool output", &everything);
    let audit = std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).unwrap();
    assert_no_canary("audit log", &audit);
}

#[tokio::test]
async fn broken_and_hostile_state_gets_clear_errors() {
    let ws = Scratch::new("badstate");
    let outside = Scratch::new("outside-state");
    outside.write(
        "terraform.tfstate",
        json!({"version": 4, "resources": []}).to_string(),
    );
    ws.write("truncated/main.tf", "");
    ws.write(
        "truncated/terraform.tfstate",
        r#"{"version": 4, "serial": 1, "resources": [{"mode": "managed","#,
    );
    ws.write("empty/main.tf", "");
    ws.write("empty/terraform.tfstate", "");
    ws.write("future/main.tf", "");
    ws.write(
        "future/terraform.tfstate",
        r#"{"version": 9, "resources": []}"#,
    );
    ws.write("nostate/main.tf", "resource \"x\" \"y\" {}\n");
    ws.write("big/main.tf", "");
    ws.write(
        "big/terraform.tfstate",
        format!(
            r#"{{"version": 4, "pad": "{}", "resources": []}}"#,
            "x".repeat(4096)
        ),
    );
    ws.write("tofu/main.tf", "");
    ws.write("tofu/terraform.tfstate", r#"{"serial": 1, "lineage": "x", "meta": {"key_provider.pbkdf2.k": "e30="}, "encrypted_data": "AAAA", "encryption_version": "v0"}"#);
    let outside_state = outside.join("terraform.tfstate");
    ws.write(
        "fathom.toml",
        format!(
            "[state]\nmax_bytes = 2048\n\n[[stack]]\nname = \"escape\"\nengine = \"terraform\"\nstate = \"{}\"\n",
            outside_state.display()
        ),
    );
    let client = connect(&ws.path).await;
    let cases = [
        ("truncated", "truncated: the JSON ends early"),
        ("empty", "is empty"),
        ("future", "Terraform state version 9; fathom reads up to 4"),
        ("nostate", "no readable state"),
        ("big", "over the 2048-byte ceiling"),
        ("tofu", "encrypted"),
        ("escape", "outside the workspace"),
        ("nope", "no stack `nope`"),
    ];
    for (stack, expected) in cases {
        let r = call(&client, "stack_resources", json!({"stack": stack})).await;
        assert_eq!(r.is_error, Some(true), "{stack}: {}", text(&r));
        let t = text(&r);
        assert!(
            t.contains(expected),
            "{stack}: expected `{expected}` in {t}"
        );
        assert!(t.contains("Next:"), "{stack}: {t}");
    }
    // `stacks` still lists every stack, with the problem as a warning.
    let r = call(&client, "stacks", json!({})).await;
    assert_eq!(r.is_error, Some(false));
    let t = text(&r);
    assert!(
        t.contains("! ") && t.contains("is empty") && t.contains("encrypted"),
        "{t}"
    );
    client.cancel().await.ok();
}
