//! Masking of values the engines mark as secret: Pulumi secret objects, Terraform sensitive
//! attribute paths and `sensitive_values` mirrors. Applied whenever attributes are parsed, so a
//! secret held in plain text in a state file never reaches an answer.

use serde_json::Value;

use super::model::Step;

/// Replaces a Pulumi secret.
pub const SECRET: &str = "[secret]";
/// Replaces a Terraform sensitive value.
pub const SENSITIVE: &str = "[sensitive]";

/// The key Pulumi uses to mark a special object; its value says which kind.
pub const PULUMI_SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
/// The signature value of a secret.
pub const PULUMI_SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";

/// Whether `v` is a Pulumi secret object (ciphertext or plaintext).
pub fn is_pulumi_secret(v: &Value) -> bool {
    v.get(PULUMI_SIG_KEY).and_then(Value::as_str) == Some(PULUMI_SECRET_SIG)
}

/// Replaces every Pulumi secret object in `v` with [`SECRET`].
pub fn mask_pulumi_secrets(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if is_pulumi_secret_map(map) {
                *v = Value::String(SECRET.into());
                return;
            }
            for child in map.values_mut() {
                mask_pulumi_secrets(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_pulumi_secrets),
        _ => {}
    }
}

fn is_pulumi_secret_map(map: &serde_json::Map<String, Value>) -> bool {
    map.get(PULUMI_SIG_KEY).and_then(Value::as_str) == Some(PULUMI_SECRET_SIG)
}

/// Replaces the value at each path with [`SENSITIVE`] (paths that do not exist are ignored).
pub fn mask_paths(v: &mut Value, paths: &[Vec<Step>]) {
    for path in paths {
        if path.is_empty() {
            *v = Value::String(SENSITIVE.into());
            return;
        }
        if let Some(target) = walk_mut(v, path) {
            *target = Value::String(SENSITIVE.into());
        }
    }
}

fn walk_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Masks leaves of `v` where `mirror` (same shape) holds `true`.
pub fn mask_mirror(v: &mut Value, mirror: &Value) {
    match (v, mirror) {
        (target, Value::Bool(true)) => *target = Value::String(SENSITIVE.into()),
        (Value::Object(map), Value::Object(m)) => {
            for (k, sub) in m {
                if let Some(child) = map.get_mut(k) {
                    mask_mirror(child, sub);
                }
            }
        }
        (Value::Array(items), Value::Array(m)) => {
            for (child, sub) in items.iter_mut().zip(m) {
                mask_mirror(child, sub);
            }
        }
        _ => {}
    }
}

/// Parses Terraform's `sensitive_attributes` (a list of paths of `{type, value}` steps).
pub fn terraform_paths(raw: &Value) -> Vec<Vec<Step>> {
    let Some(paths) = raw.as_array() else {
        return Vec::new();
    };
    paths
        .iter()
        .filter_map(|path| {
            let steps = path.as_array()?;
            steps
                .iter()
                .map(|step| {
                    let kind = step.get("type")?.as_str()?;
                    let value = step.get("value")?;
                    match kind {
                        "get_attr" => Some(Step::Key(value.as_str()?.to_string())),
                        "index" => {
                            // {"value": <key>, "type": "string"|"number"}
                            let key = value.get("value").unwrap_or(value);
                            match key {
                                Value::String(s) => Some(Step::Key(s.clone())),
                                Value::Number(n) => n.as_u64().map(|i| Step::Index(i as usize)),
                                _ => None,
                            }
                        }
                        _ => None,
                    }
                })
                .collect::<Option<Vec<Step>>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pulumi_secrets_masked_everywhere() {
        let mut v = json!({
            "password": {PULUMI_SIG_KEY: PULUMI_SECRET_SIG, "plaintext": "\"hunter2\""},
            "nested": [{"k": {PULUMI_SIG_KEY: PULUMI_SECRET_SIG, "ciphertext": "AAAA"}}],
            "asset": {PULUMI_SIG_KEY: "c44067f5952c0a294b673a41bacd8c17", "text": "hello"}
        });
        mask_pulumi_secrets(&mut v);
        assert_eq!(v["password"], json!(SECRET));
        assert_eq!(v["nested"][0]["k"], json!(SECRET));
        assert_eq!(v["asset"]["text"], json!("hello"));
    }

    #[test]
    fn terraform_paths_and_mirrors() {
        let paths = terraform_paths(&json!([
            [{"type": "get_attr", "value": "password"}],
            [{"type": "get_attr", "value": "tags"}, {"type": "index", "value": {"value": "token", "type": "string"}}],
            [{"type": "get_attr", "value": "list"}, {"type": "index", "value": {"value": 1, "type": "number"}}]
        ]));
        let mut v =
            json!({"password": "p", "tags": {"token": "t", "name": "n"}, "list": ["a", "b"]});
        mask_paths(&mut v, &paths);
        assert_eq!(
            v,
            json!({"password": SENSITIVE, "tags": {"token": SENSITIVE, "name": "n"}, "list": ["a", SENSITIVE]})
        );
        let mut v = json!({"a": "x", "b": {"c": "y", "d": "z"}});
        mask_mirror(&mut v, &json!({"a": true, "b": {"c": true}}));
        assert_eq!(v, json!({"a": SENSITIVE, "b": {"c": SENSITIVE, "d": "z"}}));
    }
}
