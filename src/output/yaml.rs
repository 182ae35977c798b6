//! A small YAML emitter for JSON values (what `bulkspec render` prints). Strings are quoted
//! whenever a plain scalar could be read back as something else.

use std::fmt::Write as _;

use serde_json::Value;

/// The value as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        let _ = write!(out, "{:indent$}{}:", "", key(k));
        write_child(out, v, indent);
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        let _ = write!(out, "{:indent$}-", "");
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First entry on the dash line, the rest aligned below it.
                let mut first = true;
                for (k, child) in m {
                    if first {
                        let _ = write!(out, " {}:", key(k));
                        first = false;
                    } else {
                        let _ = write!(out, "{:w$}{}:", "", key(k), w = indent + 2);
                    }
                    write_child(out, child, indent + 2);
                }
            }
            _ => write_child(out, v, indent),
        }
    }
}

fn write_child(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            let _ = writeln!(out, " {}", scalar(other));
        }
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) { k.to_owned() } else { quote(k) }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) => quote(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.escape_default()))
}

/// Whether `s` reads back as the same string when written plain.
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && !matches!(
            crate::spec::yaml::resolve_plain(s),
            crate::spec::yaml::Value::Null
                | crate::spec::yaml::Value::Bool(_)
                | crate::spec::yaml::Value::Int(_)
                | crate::spec::yaml::Value::Float(_)
        )
        && s.chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '/' || c == '.')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.ends_with(' ')
        && s.chars().all(|c| {
            !c.is_control()
                && !matches!(
                    c,
                    '{' | '}'
                        | '['
                        | ']'
                        | ','
                        | '&'
                        | '*'
                        | '!'
                        | '|'
                        | '>'
                        | '\''
                        | '"'
                        | '%'
                        | '@'
                        | '`'
                )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_yaml;

    #[test]
    fn round_trips_through_our_loader() {
        let v = json!({"a": 1, "b": "true", "c": [{"x": "y z", "n": null}, "1.5"], "d": {"e": "{{ row.x }}", "f": ""}});
        let text = to_yaml(&v);
        let (src, node) =
            crate::spec::yaml::load_bytes("t.yaml".as_ref(), text.as_bytes(), Default::default())
                .unwrap();
        let (back, _) = crate::spec::render::Renderer::new(&Default::default()).plain(&src, &node);
        assert_eq!(back, v, "{text}");
    }
}
