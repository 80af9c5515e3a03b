//! `terraform-provider-fathomtest`: a small, test-only Terraform provider (plugin protocol 6)
//! whose resource types model real infrastructure, so that fathom's tests can produce real
//! state files and plans with a real `terraform` binary.
//!
//! The provider keeps no external state. Create derives ids and other computed values
//! deterministically from the configuration (mostly from `name`), read returns the prior
//! state, update applies the plan, delete succeeds — except for a database whose state has
//! `deletion_protection = true`, which fails the way real clouds do.
//!
//! Resource types (attribute → behaviour on change):
//!
//! * `fathomtest_database`: `name` (replace), `engine` (replace), `engine_version` (in place),
//!   `storage_gb` (in place), `deletion_protection` (in place, default false),
//!   `password` (sensitive, in place); computed `id`, `endpoint`.
//! * `fathomtest_bucket`: `name` (replace), `versioning` (in place, default false);
//!   computed `id`, `arn`.
//! * `fathomtest_instance`: `name` (in place), `size` (in place), `image` (replace);
//!   computed `id`, `private_ip`.
//! * `fathomtest_network_rule`: `name` (replace), `port` (in place), `cidr` (in place,
//!   default `0.0.0.0/0`), `protocol` (replace, default `tcp`), `target_id` (replace; meant
//!   to reference another resource's id); computed `id`.

use std::collections::HashMap;
use std::marker::PhantomData;

use anyhow::Result;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, Schema,
};
use tf_provider::value::{Value, ValueEmpty};
use tf_provider::{
    serve, AttributePath, Diagnostics, DynamicDataSource, DynamicResource, Provider, Resource,
};

type Str = Value<String>;
type Num = Value<i64>;
type Bool = Value<bool>;

/// The cookie go-plugin hosts (terraform) put in the plugin's environment.
const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// FNV-1a, 64 bit: stable across runs and platforms, which is all the ids need.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn text(v: &Str) -> &str {
    v.as_ref_option().map(String::as_str).unwrap_or("")
}

fn attr(attr_type: AttributeType, constraint: AttributeConstraint, description: &str) -> Attribute {
    Attribute {
        attr_type,
        description: Description::plain(description),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

fn schema(description: &str, attributes: HashMap<String, Attribute>) -> Schema {
    Schema {
        version: 0,
        block: Block {
            version: 0,
            attributes,
            description: Description::plain(description),
            ..Default::default()
        },
    }
}

fn attrs(list: Vec<(&str, Attribute)>) -> HashMap<String, Attribute> {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Records an attribute error.
fn attr_error(diags: &mut Diagnostics, attribute: &'static str, summary: String, detail: String) {
    diags.error(summary, detail, AttributePath::new(attribute));
}

/// Names of the attributes (among `pairs`) whose value differs between prior and planned.
fn changed(pairs: &[(&'static str, bool)]) -> Vec<&'static str> {
    pairs
        .iter()
        .filter(|(_, differs)| *differs)
        .map(|(n, _)| *n)
        .collect()
}

use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};
use AttributeType as T;

// ---------------------------------------------------------------------------------------------
// The per-type behaviour, plugged into one generic `Resource` implementation
// ---------------------------------------------------------------------------------------------

trait Model: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn schema() -> Schema;
    /// Configuration checks; values may still be unknown here.
    fn validate(&self, _diags: &mut Diagnostics) {}
    /// Applies defaults to optional+computed attributes the configuration leaves null.
    fn defaults(&mut self, config: &Self);
    /// Computed attributes of an object about to be created are "known after apply".
    fn unknown_computed(&mut self);
    /// Attributes whose change between `prior` and `planned` forces a replacement.
    fn replace_paths(prior: &Self, planned: &Self) -> Vec<&'static str>;
    /// Fills the computed attributes when the object is created.
    fn created(&mut self);
    /// Refuses deletion by adding an error, when the object must not be deleted.
    fn check_delete(&self, _diags: &mut Diagnostics) {}
}

struct Res<M>(PhantomData<fn() -> M>);

impl<M> Res<M> {
    fn new() -> Self {
        Res(PhantomData)
    }
}

#[async_trait]
impl<M: Model> Resource for Res<M> {
    type State<'a> = M;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(M::schema())
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: M) -> Option<()> {
        config.validate(diags);
        Some(())
    }

    async fn read<'a>(
        &self,
        _diags: &mut Diagnostics,
        state: M,
        private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(M, ValueEmpty)> {
        // Tests make refreshes slow to exercise timeouts and cancellation of a running plan.
        if let Some(ms) = std::env::var("FATHOMTEST_READ_SLEEP_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Some((state, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed_state: M,
        config_state: M,
        _meta: ValueEmpty,
    ) -> Option<(M, ValueEmpty)> {
        let mut planned = proposed_state;
        planned.defaults(&config_state);
        planned.unknown_computed();
        Some((planned, Value::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior_state: M,
        proposed_state: M,
        config_state: M,
        prior_private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(M, ValueEmpty, Vec<AttributePath>)> {
        let mut planned = proposed_state;
        planned.defaults(&config_state);
        let replace = M::replace_paths(&prior_state, &planned)
            .into_iter()
            .map(AttributePath::new)
            .collect();
        Some((planned, prior_private_state, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: M,
        prior_private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(prior_private_state)
    }

    async fn create<'a>(
        &self,
        _diags: &mut Diagnostics,
        planned_state: M,
        _config_state: M,
        planned_private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(M, ValueEmpty)> {
        let mut state = planned_state;
        state.created();
        Some((state, planned_private_state))
    }

    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior_state: M,
        planned_state: M,
        _config_state: M,
        planned_private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(M, ValueEmpty)> {
        Some((planned_state, planned_private_state))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior_state: M,
        _planned_private_state: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        prior_state.check_delete(diags);
        Some(())
    }
}

// ---------------------------------------------------------------------------------------------
// fathomtest_database
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Database {
    id: Str,
    name: Str,
    engine: Str,
    engine_version: Str,
    storage_gb: Num,
    deletion_protection: Bool,
    password: Str,
    endpoint: Str,
}

const ENGINES: &[(&str, u16)] = &[("postgres", 5432), ("mysql", 3306), ("mariadb", 3306)];

impl Model for Database {
    fn schema() -> Schema {
        let mut password = attr(T::String, Optional, "Master password (sensitive)");
        password.sensitive = true;
        schema(
            "A managed SQL database instance",
            attrs(vec![
                ("id", attr(T::String, Computed, "Database identifier")),
                (
                    "name",
                    attr(
                        T::String,
                        Required,
                        "Database name; changing it forces replacement",
                    ),
                ),
                (
                    "engine",
                    attr(
                        T::String,
                        Required,
                        "postgres, mysql or mariadb; changing it forces replacement",
                    ),
                ),
                (
                    "engine_version",
                    attr(T::String, Optional, "Engine version, upgraded in place"),
                ),
                (
                    "storage_gb",
                    attr(
                        T::Number,
                        Required,
                        "Allocated storage in GiB, resized in place",
                    ),
                ),
                (
                    "deletion_protection",
                    attr(
                        T::Bool,
                        OptionalComputed,
                        "Refuse deletion while true (default false)",
                    ),
                ),
                ("password", password),
                (
                    "endpoint",
                    attr(T::String, Computed, "host:port clients connect to"),
                ),
            ]),
        )
    }

    fn validate(&self, diags: &mut Diagnostics) {
        if let Value::Value(engine) = &self.engine {
            if !ENGINES.iter().any(|(e, _)| e == engine) {
                attr_error(
                    diags,
                    "engine",
                    format!("Unsupported database engine {engine:?}"),
                    "engine must be one of: postgres, mysql, mariadb.".into(),
                );
            }
        }
        if let Value::Value(gb) = self.storage_gb {
            if !(1..=65536).contains(&gb) {
                attr_error(
                    diags,
                    "storage_gb",
                    format!("storage_gb {gb} is out of range"),
                    "storage_gb must be between 1 and 65536.".into(),
                );
            }
        }
    }

    fn defaults(&mut self, config: &Self) {
        if config.deletion_protection.is_null() {
            self.deletion_protection = Value::Value(false);
        }
    }

    fn unknown_computed(&mut self) {
        self.id = Value::Unknown;
        self.endpoint = Value::Unknown;
    }

    fn replace_paths(prior: &Self, planned: &Self) -> Vec<&'static str> {
        changed(&[
            ("name", prior.name != planned.name),
            ("engine", prior.engine != planned.engine),
        ])
    }

    fn created(&mut self) {
        let name = text(&self.name).to_string();
        let engine = text(&self.engine).to_string();
        let h = fnv1a(&["database", &name]);
        let port = ENGINES
            .iter()
            .find(|(e, _)| *e == engine)
            .map_or(5432, |(_, p)| *p);
        self.id = Value::Value(format!("db-{:012x}", h & 0xffff_ffff_ffff));
        self.endpoint = Value::Value(format!(
            "{name}.c{:08x}.{engine}.fathomtest.internal:{port}",
            (h >> 16) as u32
        ));
    }

    fn check_delete(&self, diags: &mut Diagnostics) {
        if self.deletion_protection == Value::Value(true) {
            diags.root_error(
                format!(
                    "Cannot delete database {:?} ({}): deletion_protection is enabled",
                    text(&self.name),
                    text(&self.id)
                ),
                "The database has deletion_protection = true. Set deletion_protection = false \
                 and apply that change first, then destroy or replace the database."
                    .to_string(),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fathomtest_bucket
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bucket {
    id: Str,
    name: Str,
    versioning: Bool,
    arn: Str,
}

impl Model for Bucket {
    fn schema() -> Schema {
        schema(
            "An object storage bucket",
            attrs(vec![
                (
                    "id",
                    attr(T::String, Computed, "Bucket identifier (its name)"),
                ),
                (
                    "name",
                    attr(
                        T::String,
                        Required,
                        "Globally unique name; changing it forces replacement",
                    ),
                ),
                (
                    "versioning",
                    attr(
                        T::Bool,
                        OptionalComputed,
                        "Keep object versions (default false)",
                    ),
                ),
                ("arn", attr(T::String, Computed, "Bucket ARN")),
            ]),
        )
    }

    fn validate(&self, diags: &mut Diagnostics) {
        if let Value::Value(name) = &self.name {
            let ok = (3..=63).contains(&name.len())
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !ok {
                attr_error(
                    diags,
                    "name",
                    format!("Invalid bucket name {name:?}"),
                    "Bucket names are 3 to 63 characters of a-z, 0-9, '-' and '.'.".into(),
                );
            }
        }
    }

    fn defaults(&mut self, config: &Self) {
        if config.versioning.is_null() {
            self.versioning = Value::Value(false);
        }
    }

    fn unknown_computed(&mut self) {
        self.id = Value::Unknown;
        self.arn = Value::Unknown;
    }

    fn replace_paths(prior: &Self, planned: &Self) -> Vec<&'static str> {
        changed(&[("name", prior.name != planned.name)])
    }

    fn created(&mut self) {
        let name = text(&self.name).to_string();
        self.arn = Value::Value(format!("arn:fathomtest:storage:::{name}"));
        self.id = Value::Value(name);
    }
}

// ---------------------------------------------------------------------------------------------
// fathomtest_instance
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Instance {
    id: Str,
    name: Str,
    size: Str,
    image: Str,
    private_ip: Str,
}

impl Model for Instance {
    fn schema() -> Schema {
        schema(
            "A virtual machine",
            attrs(vec![
                ("id", attr(T::String, Computed, "Instance identifier")),
                (
                    "name",
                    attr(T::String, Required, "Name tag, changed in place"),
                ),
                (
                    "size",
                    attr(T::String, Required, "Machine size, resized in place"),
                ),
                (
                    "image",
                    attr(
                        T::String,
                        Required,
                        "Boot image; changing it forces replacement",
                    ),
                ),
                (
                    "private_ip",
                    attr(T::String, Computed, "Private IPv4 address"),
                ),
            ]),
        )
    }

    fn defaults(&mut self, _config: &Self) {}

    fn unknown_computed(&mut self) {
        self.id = Value::Unknown;
        self.private_ip = Value::Unknown;
    }

    fn replace_paths(prior: &Self, planned: &Self) -> Vec<&'static str> {
        changed(&[("image", prior.image != planned.image)])
    }

    fn created(&mut self) {
        let h = fnv1a(&["instance", text(&self.name)]);
        self.id = Value::Value(format!("i-0{h:016x}"));
        self.private_ip =
            Value::Value(format!("10.0.{}.{}", (h >> 8) & 0xff, 4 + (h & 0xff) % 250));
    }
}

// ---------------------------------------------------------------------------------------------
// fathomtest_network_rule
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize)]
struct NetworkRule {
    id: Str,
    name: Str,
    port: Num,
    cidr: Str,
    protocol: Str,
    target_id: Str,
}

const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "all"];

fn valid_cidr(cidr: &str) -> bool {
    let Some((addr, bits)) = cidr.split_once('/') else {
        return false;
    };
    let octets: Vec<&str> = addr.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| o.parse::<u8>().is_ok())
        && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

impl Model for NetworkRule {
    fn schema() -> Schema {
        schema(
            "A firewall rule admitting traffic to a target",
            attrs(vec![
                ("id", attr(T::String, Computed, "Rule identifier")),
                (
                    "name",
                    attr(
                        T::String,
                        Required,
                        "Rule name; changing it forces replacement",
                    ),
                ),
                (
                    "port",
                    attr(T::Number, Required, "Destination port, changed in place"),
                ),
                (
                    "cidr",
                    attr(
                        T::String,
                        OptionalComputed,
                        "Source CIDR (default 0.0.0.0/0), in place",
                    ),
                ),
                (
                    "protocol",
                    attr(
                        T::String,
                        OptionalComputed,
                        "tcp, udp, icmp or all (default tcp); forces replacement",
                    ),
                ),
                (
                    "target_id",
                    attr(
                        T::String,
                        Optional,
                        "Id of the protected resource; forces replacement",
                    ),
                ),
            ]),
        )
    }

    fn validate(&self, diags: &mut Diagnostics) {
        if let Value::Value(port) = self.port {
            if !(0..=65535).contains(&port) {
                attr_error(
                    diags,
                    "port",
                    format!("port {port} is out of range"),
                    "port must be between 0 and 65535.".into(),
                );
            }
        }
        if let Value::Value(protocol) = &self.protocol {
            if !PROTOCOLS.contains(&protocol.as_str()) {
                attr_error(
                    diags,
                    "protocol",
                    format!("Unsupported protocol {protocol:?}"),
                    "protocol must be one of: tcp, udp, icmp, all.".into(),
                );
            }
        }
        if let Value::Value(cidr) = &self.cidr {
            if !valid_cidr(cidr) {
                attr_error(
                    diags,
                    "cidr",
                    format!("Invalid CIDR block {cidr:?}"),
                    "cidr must look like 10.0.0.0/16.".into(),
                );
            }
        }
    }

    fn defaults(&mut self, config: &Self) {
        if config.cidr.is_null() {
            self.cidr = Value::Value("0.0.0.0/0".into());
        }
        if config.protocol.is_null() {
            self.protocol = Value::Value("tcp".into());
        }
    }

    fn unknown_computed(&mut self) {
        self.id = Value::Unknown;
    }

    fn replace_paths(prior: &Self, planned: &Self) -> Vec<&'static str> {
        changed(&[
            ("name", prior.name != planned.name),
            ("protocol", prior.protocol != planned.protocol),
            ("target_id", prior.target_id != planned.target_id),
        ])
    }

    fn created(&mut self) {
        let h = fnv1a(&["network_rule", text(&self.name)]);
        self.id = Value::Value(format!("sgr-{h:016x}"));
    }
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

struct FathomTest;

#[async_trait]
impl Provider for FathomTest {
    type Config<'a> = ValueEmpty;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "fathom's test provider; needs no configuration",
            HashMap::new(),
        ))
    }

    fn get_resources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let mut resources: HashMap<String, Box<dyn DynamicResource>> = HashMap::new();
        resources.insert("database".into(), Box::new(Res::<Database>::new()));
        resources.insert("bucket".into(), Box::new(Res::<Bucket>::new()));
        resources.insert("instance".into(), Box::new(Res::<Instance>::new()));
        resources.insert("network_rule".into(), Box::new(Res::<NetworkRule>::new()));
        Some(resources)
    }

    fn get_data_sources(
        &self,
        _diags: &mut Diagnostics,
    ) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(HashMap::new())
    }
}

fn main() -> Result<()> {
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprintln!(
            "terraform-provider-fathomtest is a Terraform plugin: terraform starts it, \
             it is not meant to be run by hand."
        );
        std::process::exit(1);
    }
    // tf-provider attaches a backtrace to every diagnostic when backtraces are enabled
    // (e.g. RUST_BACKTRACE=1 inherited from `cargo test`); keep diagnostics to the message.
    // Set before the runtime starts any thread.
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve("fathomtest", FathomTest))
}
