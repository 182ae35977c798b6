//! Configuration changes: the rendered spec against the one recorded at the last apply, leaf by
//! leaf, each marked destructive or not.

use serde_json::Value;

use super::model::ConfigChange;

/// Leaf differences between the applied spec and the current one.
pub fn changes(before: Option<&Value>, after: &Value) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    if let Some(before) = before {
        walk("", before, after, &mut out);
    }
    out
}

fn walk(ptr: &str, before: &Value, after: &Value, out: &mut Vec<ConfigChange>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{ptr}/{}", crate::spec::render::escape_pointer(k));
                walk(&p, va, b.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                let p = format!("{ptr}/{}", crate::spec::render::escape_pointer(k));
                walk(&p, &Value::Null, vb, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(ConfigChange {
            path: ptr.to_owned(),
            before: a.clone(),
            after: b.clone(),
            destructive: is_destructive(ptr, b),
        }),
    }
}

/// Whether taking `after` at `ptr` can remove or deactivate data.
fn is_destructive(ptr: &str, after: &Value) -> bool {
    (ptr.starts_with("/refresh/") && after == &Value::Bool(true))
        || (ptr == "/mode" && matches!(after.as_str(), Some("mirror" | "delete")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::changes;

    #[test]
    fn reports_leaf_changes() {
        let before =
            json!({"refresh": {"tags": false}, "mode": "upsert", "polling": {"interval": "5s"}});
        let after = json!({"refresh": {"tags": true}, "mode": "upsert", "polling": {"interval": "10s"}, "description": "x"});
        let c = changes(Some(&before), &after);
        assert_eq!(c.len(), 3);
        assert!(c.iter().any(|c| c.path == "/refresh/tags" && c.destructive));
        assert!(
            c.iter()
                .any(|c| c.path == "/polling/interval" && !c.destructive)
        );
        assert!(
            c.iter()
                .any(|c| c.path == "/description" && c.before.is_null())
        );
        assert!(changes(None, &after).is_empty());
    }
}
