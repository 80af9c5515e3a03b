//! State tools on real Terraform state: terraform 1.0.3 applies configurations with the
//! test provider (modules, count, workspaces, a second apply that leaves a backup), then an
//! agent session asks fathom about it. Canary passwords must never come back.

mod common;

use common::terraform::Tf;
use common::{Scratch, call, connect, connect_with_env, text};
use serde_json::json;

const CANARY_SENSITIVE: &str = "canary-tf-sensitive-var-4b1e";
const CANARY_LITERAL: &str = "canary-tf-literal-pw-8c3a";

fn root_config(storage_gb: u32) -> String {
    format!(
        r#"
variable "db_password" {{
  type      = string
  sensitive = true
  default   = "{CANARY_SENSITIVE}"
}}

resource "fathomtest_database" "payments" {{
  name                = "payments"
  engine              = "postgres"
  storage_gb          = {storage_gb}
  deletion_protection = true
  password            = var.db_password
}}

# A password written as a literal: terraform records no sensitive path for it in the raw
# state, so only fathom's own masking keeps it out of answers.
resource "fathomtest_database" "analytics" {{
  name       = "analytics"
  engine     = "mysql"
  storage_gb = 20
  password   = "{CANARY_LITERAL}"
}}

resource "fathomtest_instance" "web" {{
  name  = "web-1"
  size  = "small"
  image = "debian-12"
}}

module "net" {{
  source    = "./modules/net"
  target_id = fathomtest_instance.web.id
}}

output "db_endpoint" {{
  value = fathomtest_database.payments.endpoint
}}

output "db_password" {{
  value     = var.db_password
  sensitive = true
}}
"#
    )
}

const NET_MODULE: &str = r#"
terraform {
  required_providers {
    fathomtest = { source = "example.com/test/fathomtest" }
  }
}

variable "target_id" {
  type = string
}

resource "fathomtest_network_rule" "ingress" {
  count     = 2
  name      = "ingress-${count.index}"
  port      = 443 + count.index
  cidr      = "10.0.0.0/16"
  target_id = var.target_id
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn real_terraform_state_through_the_state_tools() {
    let ws = Scratch::new("tfstate");
    std::fs::create_dir_all(ws.join("infra")).expect("mkdir");
    let tf = Tf::new(&ws.join("infra"));
    tf.write_file("modules/net/main.tf", NET_MODULE);
    tf.write_main(&root_config(100));
    // Local modules must be registered; `get` does that without provider installation
    // (`init` would look for the dev-override provider in a registry).
    tf.run(&["get"]);
    tf.apply();
    // A second apply grows the database; terraform keeps the previous state as a backup.
    tf.write_main(&root_config(200));
    tf.apply();
    // A second workspace with its own state.
    tf.run(&["workspace", "new", "staging"]);
    tf.apply();
    tf.run(&["workspace", "select", "default"]);

    let raw = std::fs::read_to_string(tf.state_path()).expect("state");
    assert!(
        raw.contains(CANARY_LITERAL),
        "the raw state holds the literal password in clear"
    );
    let client = connect(&ws.path).await;
    let mut everything = String::new();

    let r = call(&client, "stacks", json!({})).await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.starts_with("2 stacks"),
        "the module dir is not a root: {t}"
    );
    assert!(
        t.contains("infra  terraform  local terraform.tfstate  5 resources  2 outputs"),
        "{t}"
    );
    assert!(
        t.contains("infra:staging  terraform  local workspace staging  5 resources"),
        "{t}"
    );

    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "infra", "type": "fathomtest_net*"}),
    )
    .await;
    let t = text(&r);
    assert!(
        t.contains("module.net.fathomtest_network_rule.ingress[0]  sgr-"),
        "{t}"
    );
    assert!(
        t.contains("module.net.fathomtest_network_rule.ingress[1]"),
        "{t}"
    );
    let r = call(
        &client,
        "stack_resources",
        json!({"stack": "infra", "module": "module.net"}),
    )
    .await;
    assert_eq!(r.structured_content.unwrap()["matched"], json!(2));

    // The instance: two rules in the module depend on it.
    let r = call(
        &client,
        "stack_resource",
        json!({"stack": "infra", "address": "fathomtest_instance.web"}),
    )
    .await;
    let s = r.structured_content.clone().unwrap();
    let direct: Vec<String> = serde_json::from_value(s["dependents"].clone()).unwrap();
    assert_eq!(
        direct,
        vec![
            "module.net.fathomtest_network_rule.ingress[0]".to_string(),
            "module.net.fathomtest_network_rule.ingress[1]".to_string()
        ],
        "{}",
        text(&r)
    );

    for address in [
        "fathomtest_database.payments",
        "fathomtest_database.analytics",
    ] {
        let r = call(
            &client,
            "stack_resource",
            json!({"stack": "infra", "address": address}),
        )
        .await;
        let t = text(&r);
        everything.push_str(&serde_json::to_string(&r).unwrap());
        assert!(
            t.contains("password = ["),
            "{address}: password not masked: {t}"
        );
    }
    let r = call(&client, "stack_outputs", json!({"stack": "infra"})).await;
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        text(&r).contains("db_password = [sensitive]"),
        "{}",
        text(&r)
    );

    let r = call(&client, "stack_history", json!({"stack": "infra"})).await;
    let t = text(&r);
    everything.push_str(&serde_json::to_string(&r).unwrap());
    assert!(
        t.contains("-1 → current: 0 added, 0 removed, 1 changed"),
        "{t}"
    );
    assert!(
        t.contains("~ fathomtest_database.payments: storage_gb"),
        "{t}"
    );

    client.cancel().await.ok();
    for canary in [CANARY_SENSITIVE, CANARY_LITERAL] {
        assert!(
            !everything.contains(canary),
            "{canary} leaked into a tool answer"
        );
        let audit = std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).unwrap();
        assert!(
            !audit.contains(canary),
            "{canary} leaked into the audit log"
        );
    }
}

/// A stack declared with `read = "cli"` is read through the user's own `terraform show -json`.
#[tokio::test(flavor = "multi_thread")]
async fn declared_stacks_are_read_through_the_cli() {
    let ws = Scratch::new("tfcli");
    std::fs::create_dir_all(ws.join("infra")).expect("mkdir");
    std::fs::create_dir_all(ws.join("broken")).expect("mkdir");
    let tf = Tf::new(&ws.join("infra"));
    tf.write_file("modules/net/main.tf", NET_MODULE);
    tf.write_main(&root_config(50));
    tf.run(&["get"]);
    tf.apply();
    ws.write(
        "fathom.toml",
        "[[stack]]\nname = \"remote\"\nengine = \"terraform\"\nread = \"cli\"\ndir = \"infra\"\n\n\
         [[stack]]\nname = \"unreachable\"\nengine = \"terraform\"\nread = \"cli\"\ndir = \"broken\"\n",
    );
    ws.write("broken/main.tf", "terraform {\n  backend \"s3\" {}\n}\n");
    let tf_dir = common::dep("terraform");
    let path = format!(
        "{}:{}",
        tf_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = vec![
        ("PATH".to_string(), path),
        (
            "TF_CLI_CONFIG_FILE".to_string(),
            tf_dir.join("terraformrc").display().to_string(),
        ),
        ("CHECKPOINT_DISABLE".to_string(), "1".to_string()),
    ];
    let client = connect_with_env(&ws.path, &env).await;
    let r = call(&client, "stacks", json!({})).await;
    assert!(
        text(&r).contains("remote  terraform  via `terraform show -json -no-color`"),
        "{}",
        text(&r)
    );
    let r = call(&client, "stack_resources", json!({"stack": "remote"})).await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    assert_eq!(
        r.structured_content.clone().unwrap()["matched"],
        json!(5),
        "{}",
        text(&r)
    );
    let r = call(
        &client,
        "stack_resource",
        json!({"stack": "remote", "address": "fathomtest_database.analytics"}),
    )
    .await;
    let t = text(&r);
    // terraform 1.0.3's `show -json` of state leaves `sensitive_values` empty for a literal
    // (newer versions mark schema-sensitive attributes there); fathom's own masking holds.
    assert!(t.contains("password = ["), "{t}");
    assert!(!serde_json::to_string(&r).unwrap().contains(CANARY_LITERAL));
    let r = call(&client, "stack_resources", json!({"stack": "unreachable"})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains("`terraform show -json -no-color` failed"), "{t}");
    assert!(t.contains("Next:"), "{t}");
    client.cancel().await.ok();
}
