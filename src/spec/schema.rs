//! The JSON Schemas generated from the spec and project types (schemars), as checked in under
//! schema/. `bulkspec schema --check` compares the two so the checked-in copy cannot go stale.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::project::Project;
use super::types::Spec;

/// Where the spec schema is checked in, relative to the repository root.
pub const SPEC_SCHEMA_PATH: &str = "schema/bulkspec.schema.json";
/// Where the project-file schema is checked in.
pub const PROJECT_SCHEMA_PATH: &str = "schema/bulkspec-project.schema.json";

/// The spec schema.
pub fn spec_schema() -> Value {
    let mut schema = schemars::schema_for!(Spec).to_value();
    if let Some(target) = schema.pointer_mut("/$defs/Target") {
        tag_dispatch(target, "object");
    }
    schema
}

/// The project-file schema.
pub fn project_schema() -> Value {
    let mut schema = schemars::schema_for!(Project).to_value();
    if let Some(conn) = schema.pointer_mut("/$defs/Connection") {
        tag_dispatch(conn, "provider");
    }
    if let Some(state) = schema.pointer_mut("/$defs/StateBackend") {
        tag_dispatch(state, "backend");
    }
    schema
}

/// Pretty JSON text of a schema, as written to disk.
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Rewrites an internally tagged enum's `oneOf` into `if tag == X then variant` branches, so a
/// validator reports the errors of the variant the user meant instead of "matches none of".
fn tag_dispatch(schema: &mut Value, tag: &str) {
    let Some(Value::Array(variants)) = schema.get_mut("oneOf").map(Value::take) else {
        return;
    };
    let mut names = Vec::new();
    let mut branches = Vec::new();
    for variant in variants {
        let name = variant
            .pointer(&format!("/properties/{tag}/const"))
            .cloned();
        match name {
            Some(name) => {
                names.push(name.clone());
                branches.push(json!({
                    "if": {"properties": {tag: {"const": name}}, "required": [tag]},
                    "then": variant,
                }));
            }
            None => branches.push(variant),
        }
    }
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("oneOf");
        obj.insert("type".into(), json!("object"));
        obj.insert("required".into(), json!([tag]));
        obj.insert("properties".into(), json!({tag: {"enum": names}}));
        obj.insert("allOf".into(), Value::Array(branches));
    }
}

/// Validators compiled once per process.
pub struct Validators {
    pub spec: jsonschema::Validator,
    pub project: jsonschema::Validator,
}

static VALIDATORS: LazyLock<Result<Validators, String>> = LazyLock::new(|| {
    let spec = jsonschema::validator_for(&spec_schema()).map_err(|e| e.to_string())?;
    let project = jsonschema::validator_for(&project_schema()).map_err(|e| e.to_string())?;
    Ok(Validators { spec, project })
});

/// The compiled validators. An error here is a bug in the generated schema.
pub fn validators() -> Result<&'static Validators, String> {
    VALIDATORS.as_ref().map_err(Clone::clone)
}
