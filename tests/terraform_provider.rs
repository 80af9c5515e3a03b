//! Self-check of the real-Terraform test harness: terraform 1.0.3 (from `.deps/terraform`)
//! drives the test provider built from `tests/provider` (installed through `dev_overrides`,
//! no `terraform init`). Proves that real state and plans come out as the other tests expect.
//! Prerequisites: `scripts/setup-test-deps`.

mod common;

use common::terraform::Tf;
use serde_json::{Value, json};

const PASSWORD: &str = "fathom-canary-db-password-0001";

/// All four resource types; the network rule references the instance's id. The password
/// comes from a sensitive variable: terraform 1.0.3 records in the raw state's
/// `sensitive_attributes` only values the *configuration* marks sensitive (a literal
/// assigned to the schema-sensitive `password` would leave the list empty).
fn config(engine: &str, storage_gb: u32) -> String {
    format!(
        r#"
variable "db_password" {{
  type      = string
  sensitive = true
  default   = "{PASSWORD}"
}}

resource "fathomtest_database" "payments" {{
  name                = "payments"
  engine              = "{engine}"
  engine_version      = "15.4"
  storage_gb          = {storage_gb}
  deletion_protection = true
  password            = var.db_password
}}

resource "fathomtest_bucket" "logs" {{
  name       = "fathom-logs"
  versioning = true
}}

resource "fathomtest_instance" "web" {{
  name  = "web-1"
  size  = "small"
  image = "debian-12"
}}

resource "fathomtest_network_rule" "https" {{
  name      = "web-https"
  port      = 443
  cidr      = "10.0.0.0/16"
  target_id = fathomtest_instance.web.id
}}
"#
    )
}

/// A working dir with the base configuration applied.
fn applied(tag: &str) -> Tf {
    let tf = Tf::temp(tag);
    tf.write_main(&config("postgres", 100));
    tf.apply();
    tf
}

/// The single instance object of resource `type.name` in a raw v4 state.
fn instance<'a>(state: &'a Value, address: &str) -> &'a Value {
    let (ty, name) = address.split_once('.').expect("type.name");
    let resources = state["resources"].as_array().expect("resources array");
    let res = resources
        .iter()
        .find(|r| r["type"] == ty && r["name"] == name)
        .unwrap_or_else(|| panic!("{address} not in state: {state:#}"));
    let instances = res["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 1, "{address} has one instance");
    &instances[0]
}

/// The `resource_changes` entry for `address` in a JSON plan.
fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in plan"))
}

#[test]
fn apply_writes_real_v4_state() {
    let tf = applied("state");
    let state = tf.state();

    assert_eq!(state["version"], 4);
    assert_eq!(state["terraform_version"], "1.0.3");
    let resources = state["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4, "{state:#}");
    let mut types: Vec<&str> = resources
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "fathomtest_bucket",
            "fathomtest_database",
            "fathomtest_instance",
            "fathomtest_network_rule"
        ]
    );
    for r in resources {
        assert_eq!(r["mode"], "managed");
        assert_eq!(r["provider"], r#"provider["example.com/test/fathomtest"]"#);
    }

    // Database: deterministic id, computed endpoint, defaults, sensitive password path.
    let db = instance(&state, "fathomtest_database.payments");
    let attrs = &db["attributes"];
    let db_id = attrs["id"].as_str().unwrap();
    assert!(
        db_id.starts_with("db-") && db_id.len() == 15,
        "db id {db_id}"
    );
    assert!(
        attrs["endpoint"].as_str().unwrap().starts_with("payments.")
            && attrs["endpoint"]
                .as_str()
                .unwrap()
                .ends_with(".postgres.fathomtest.internal:5432"),
        "{attrs:#}"
    );
    assert_eq!(attrs["engine"], "postgres");
    assert_eq!(attrs["storage_gb"], 100);
    assert_eq!(attrs["deletion_protection"], true);
    // The raw state holds the secret in plain text, marked only by sensitive_attributes.
    assert_eq!(attrs["password"], PASSWORD);
    assert_eq!(
        db["sensitive_attributes"],
        json!([[{"type": "get_attr", "value": "password"}]])
    );
    assert_eq!(db["schema_version"], 0);

    let bucket = &instance(&state, "fathomtest_bucket.logs")["attributes"];
    assert_eq!(bucket["id"], "fathom-logs");
    assert_eq!(bucket["arn"], "arn:fathomtest:storage:::fathom-logs");
    assert_eq!(bucket["versioning"], true);

    let web = &instance(&state, "fathomtest_instance.web")["attributes"];
    let web_id = web["id"].as_str().unwrap();
    assert!(
        web_id.starts_with("i-0") && web_id.len() == 19,
        "instance id {web_id}"
    );
    assert!(web["private_ip"].as_str().unwrap().starts_with("10.0."));

    // The rule references the instance: its id and a recorded dependency.
    let rule = instance(&state, "fathomtest_network_rule.https");
    assert_eq!(rule["attributes"]["target_id"], web_id);
    assert_eq!(rule["attributes"]["protocol"], "tcp", "provider default");
    assert_eq!(rule["attributes"]["port"], 443);
    assert!(
        rule["attributes"]["id"]
            .as_str()
            .unwrap()
            .starts_with("sgr-")
    );
    assert_eq!(rule["dependencies"], json!(["fathomtest_instance.web"]));
    assert!(
        db.get("dependencies").is_none(),
        "database depends on nothing"
    );

    // Ids are derived from names: a second working dir gets the same ids.
    let again = applied("state-again").state();
    assert_eq!(
        instance(&again, "fathomtest_database.payments")["attributes"]["id"],
        db_id
    );

    // The `show -json` form marks the schema-sensitive attribute too.
    let shown = tf.show_state_json();
    let shown_db = shown["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "fathomtest_database.payments")
        .expect("database in show -json");
    assert_eq!(shown_db["sensitive_values"], json!({"password": true}));
    assert_eq!(shown_db["provider_name"], "example.com/test/fathomtest");

    // Re-planning the applied configuration changes nothing.
    let plan = tf.plan_json();
    for c in plan["resource_changes"].as_array().unwrap() {
        assert_eq!(c["change"]["actions"], json!(["no-op"]), "{}", c["address"]);
    }
}

#[test]
fn engine_change_forces_replacement() {
    let tf = applied("replace");
    tf.write_main(&config("mysql", 100));
    let plan = tf.plan_json();

    let db = change(&plan, "fathomtest_database.payments");
    let actions = &db["change"]["actions"];
    assert!(
        *actions == json!(["delete", "create"]) || *actions == json!(["create", "delete"]),
        "replace actions, got {actions}"
    );
    assert_eq!(db["change"]["replace_paths"], json!([["engine"]]));
    assert_eq!(db["change"]["before"]["engine"], "postgres");
    assert_eq!(db["change"]["after"]["engine"], "mysql");
    // The new database's computed attributes are unknown until apply.
    assert_eq!(db["change"]["after_unknown"]["id"], true);
    assert_eq!(db["change"]["after_unknown"]["endpoint"], true);
    // The plan marks the password sensitive on both sides.
    assert_eq!(db["change"]["before_sensitive"]["password"], true);
    assert_eq!(db["change"]["after_sensitive"]["password"], true);

    for other in [
        "fathomtest_bucket.logs",
        "fathomtest_instance.web",
        "fathomtest_network_rule.https",
    ] {
        assert_eq!(
            change(&plan, other)["change"]["actions"],
            json!(["no-op"]),
            "{other}"
        );
    }
}

#[test]
fn storage_change_updates_in_place() {
    let tf = applied("update");
    let db_id = instance(&tf.state(), "fathomtest_database.payments")["attributes"]["id"].clone();
    tf.write_main(&config("postgres", 250));

    let plan = tf.plan_json();
    let db = change(&plan, "fathomtest_database.payments");
    assert_eq!(db["change"]["actions"], json!(["update"]));
    assert!(db["change"].get("replace_paths").is_none(), "{db:#}");
    assert_eq!(db["change"]["before"]["storage_gb"], 100);
    assert_eq!(db["change"]["after"]["storage_gb"], 250);
    assert_eq!(
        db["change"]["after"]["id"], db_id,
        "id kept by an in-place update"
    );

    // The machine-readable UI stream says the same.
    let stream = tf.plan_stream();
    assert_eq!(stream[0]["type"], "version");
    assert_eq!(stream[0]["terraform"], "1.0.3");
    let planned: Vec<&Value> = stream
        .iter()
        .filter(|m| m["type"] == "planned_change")
        .collect();
    assert_eq!(planned.len(), 1, "only the database changes: {stream:#?}");
    assert_eq!(
        planned[0]["change"]["resource"]["addr"],
        "fathomtest_database.payments"
    );
    assert_eq!(planned[0]["change"]["action"], "update");
    let summary = stream
        .iter()
        .find(|m| m["type"] == "change_summary")
        .expect("summary");
    assert_eq!(
        summary["changes"],
        json!({"add": 0, "change": 1, "remove": 0, "operation": "plan"})
    );

    tf.apply();
    let state = tf.state();
    let db = &instance(&state, "fathomtest_database.payments")["attributes"];
    assert_eq!(db["storage_gb"], 250);
    assert_eq!(db["id"], db_id);
}

#[test]
fn destroying_protected_database_fails() {
    let tf = applied("protect");
    let out = tf.try_destroy();
    let stderr = common::terraform::text(&out.stderr);
    assert!(
        !out.status.success(),
        "destroy must fail; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(r#"Cannot delete database "payments""#)
            && stderr.contains("deletion_protection is enabled"),
        "diagnostic missing from stderr:\n{stderr}"
    );

    // The unprotected resources are gone; the database stays in state.
    let state = tf.state();
    let left: Vec<String> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}.{}",
                r["type"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(left, ["fathomtest_database.payments"]);

    // Turning protection off first lets the destroy succeed, as on a real cloud.
    tf.write_main(
        &config("postgres", 100)
            .replace("deletion_protection = true", "deletion_protection = false"),
    );
    tf.apply();
    let out = tf.try_destroy();
    assert!(
        out.status.success(),
        "{}",
        common::terraform::text(&out.stderr)
    );
    assert_eq!(tf.state()["resources"], json!([]));
}
