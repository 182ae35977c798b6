//! Semantic checks a schema cannot express: provider rules (collection names, field maps,
//! match criteria, refresh flags and modes a provider supports), limits above an API's maximum,
//! destructive settings without a guard, and the row templates' syntax. Cross-file checks
//! (duplicate jobs, depends_on) live in `workspace`; provider-specific rules in `providers`.

mod providers;

use providers::{check_dotdigital, check_eloqua_fields, check_iso_duration};

use crate::spec::diagnostic::{Diagnostic, Diagnostics};
use crate::spec::project::{Connection, Project};
use crate::spec::render::{Renderer, SpanIndex, is_template, template_diagnostic};
use crate::spec::source_text::SourceText;
use crate::spec::types::marketo::LEAD_LOOKUP_FIELDS;
use crate::spec::types::{Mode, Provider, Spec, Target};

/// Everything a check needs about one file.
pub struct Ctx<'a> {
    pub src: &'a SourceText,
    pub index: &'a SpanIndex,
    pub diags: &'a mut Diagnostics,
}

impl Ctx<'_> {
    fn error(
        &mut self,
        code: &'static str,
        ptr: &str,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = Diagnostic::error(code, self.src, self.index.find(ptr), msg).with_hint(hint);
        self.diags.push(d);
    }
}

/// Runs every per-file semantic check.
pub fn check_spec(spec: &Spec, project: &Project, renderer: &Renderer, cx: &mut Ctx<'_>) {
    check_connection(spec, project, cx);
    check_limits(spec, cx);
    check_modes(spec, cx);
    check_match(spec, cx);
    check_guard(spec, cx);
    check_polling(spec, cx);
    match &spec.target {
        Target::TransactionalData(t) => check_dotdigital(spec, t, cx),
        Target::OpportunityContacts(t) => {
            check_eloqua_fields(spec, &t.fields, cx);
            for (name, ptr) in [
                (&t.match_field_name, "/target/match_field_name"),
                (&t.source_field, "/target/source_field"),
            ] {
                if !t.fields.contains_key(name) {
                    cx.error(
                        "semantic::eloqua-field",
                        ptr,
                        format!("`{name}` is not a key of target.fields"),
                        "name one of the columns listed under target.fields",
                    );
                }
            }
            check_iso_duration(t.data_retention_duration.as_deref(), cx);
        }
        Target::Contacts(t) => {
            check_eloqua_fields(spec, &t.fields, cx);
            check_iso_duration(t.data_retention_duration.as_deref(), cx);
        }
        _ => {}
    }
    check_row_templates(spec, renderer, cx);
}

fn check_connection(spec: &Spec, project: &Project, cx: &mut Ctx<'_>) {
    let name = spec.target.connection();
    match project.connections.get(name) {
        None if name == "sandbox" => {}
        None => {
            let known: Vec<&str> = project
                .connections
                .keys()
                .map(String::as_str)
                .chain(["sandbox"])
                .collect();
            cx.error(
                "semantic::unknown-connection",
                "/target/connection",
                format!("connection `{name}` is not defined in bulkspec.yaml"),
                format!(
                    "define it under `connections:` in bulkspec.yaml; known: {}",
                    known.join(", ")
                ),
            );
        }
        Some(Connection::Sandbox { .. }) => {}
        Some(c) if c.provider() != spec.target.provider().as_str() => cx.error(
            "semantic::connection-provider",
            "/target/connection",
            format!(
                "connection `{name}` is a {} connection, but the target is {}",
                c.provider(),
                spec.target.provider()
            ),
            "point target.connection at a connection of the target's provider",
        ),
        Some(_) => {}
    }
}

fn check_limits(spec: &Spec, cx: &mut Ctx<'_>) {
    let p = spec.target.provider();
    if let Some(size) = spec.limits.max_request_bytes
        && size.0 > p.max_request_bytes()
    {
        cx.error(
            "semantic::limit",
            "/limits/max_request_bytes",
            format!(
                "{size} is above {p}'s maximum request size of {}",
                crate::spec::types::Size(p.max_request_bytes())
            ),
            "lower limits.max_request_bytes or leave it unset for the provider's default",
        );
    }
    if let Some(c) = spec.limits.concurrency
        && c > p.max_concurrency()
    {
        cx.error(
            "semantic::limit",
            "/limits/concurrency",
            format!(
                "concurrency {c} is above {p}'s maximum of {}",
                p.max_concurrency()
            ),
            "lower limits.concurrency or leave it unset",
        );
    }
}

fn check_modes(spec: &Spec, cx: &mut Ctx<'_>) {
    let p = spec.target.provider();
    let supported: &[Mode] = match &spec.target {
        // Only MyPreferences can delete what left the source (a Delete import). Eloqua's data
        // delete only discards staged data, it does not unlink (eloqua.md §7).
        Target::Profiles(_) => &[Mode::Upsert, Mode::Mirror, Mode::Delete],
        _ => &[Mode::Upsert],
    };
    if !supported.contains(&spec.mode) {
        cx.error(
            "semantic::mode",
            "/mode",
            format!(
                "{p} {} does not support mode `{}`",
                spec.target.object(),
                mode_name(spec.mode)
            ),
            format!(
                "supported: {}",
                supported
                    .iter()
                    .map(|m| mode_name(*m))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    if spec.refresh.any() && p != Provider::Mypreferences {
        cx.error(
            "semantic::refresh",
            "/refresh",
            format!("refresh flags are a MyPreferences feature; {p} has none"),
            "remove `refresh:`",
        );
    }
    if spec.refresh.any() && spec.mode == Mode::Delete {
        cx.error(
            "semantic::refresh",
            "/refresh",
            "refresh flags apply to Add imports, not to mode `delete`",
            "remove `refresh:` or use mode `upsert`/`mirror`",
        );
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Upsert => "upsert",
        Mode::Mirror => "mirror",
        Mode::Delete => "delete",
    }
}

fn check_match(spec: &Spec, cx: &mut Ctx<'_>) {
    let Some(m) = &spec.match_on else { return };
    if m.field.is_some() == m.alternate_id_type.is_some() {
        cx.error(
            "semantic::match",
            "/match",
            "set exactly one of match.field and match.alternate_id_type",
            "",
        );
        return;
    }
    let object = spec.target.object();
    match (&spec.target, &m.field, &m.alternate_id_type) {
        (Target::ProgramMembers(_), Some(f), _) if f != "email" => cx.error(
            "semantic::match",
            "/match/field",
            format!("Marketo program-member import matches by email only, not `{f}`"),
            "remove `match:` or use object `leads`, whose lookupField is selectable",
        ),
        (Target::Leads(t), Some(f), _) if !LEAD_LOOKUP_FIELDS.contains(&f.as_str()) && !t.custom_lookup_fields.contains(f) => cx.error(
            "semantic::match",
            "/match/field",
            format!("`{f}` is not a Marketo lookupField"),
            format!(
                "use one of {}, or list a custom string/email/integer field in target.custom_lookup_fields",
                LEAD_LOOKUP_FIELDS.join(", ")
            ),
        ),
        (Target::Contacts(t), Some(f), _) if !t.fields.contains_key(f) => cx.error(
            "semantic::match",
            "/match/field",
            format!("`{f}` is not a key of target.fields (identifierFieldName must be one)"),
            "name one of the columns listed under target.fields",
        ),
        (Target::Profiles(_), Some(_), _) => cx.error(
            "semantic::match",
            "/match/field",
            "MyPreferences matches by ProfileId or by an AlternateId type",
            "use match.alternate_id_type, or remove `match:` to match by ProfileId",
        ),
        (Target::Profiles(_), None, Some(_)) => {}
        (_, None, Some(_)) => cx.error(
            "semantic::match",
            "/match/alternate_id_type",
            format!("match.alternate_id_type is a MyPreferences setting; {} {object} does not support it", spec.target.provider()),
            "use match.field",
        ),
        (Target::OpportunityContacts(_) | Target::TransactionalData(_), Some(_), _) => cx.error(
            "semantic::match",
            "/match",
            format!("{} {object} does not take match criteria", spec.target.provider()),
            "linkage matches through target.match_field_name/source_field; Dotdigital matches on `key`",
        ),
        _ => {}
    }
}

fn check_guard(spec: &Spec, cx: &mut Ctx<'_>) {
    if spec.is_destructive() && !spec.guard.has_threshold() {
        let ptr = if spec.refresh.any() {
            "/refresh"
        } else {
            "/mode"
        };
        cx.error(
            "semantic::unguarded",
            ptr,
            "destructive settings without a guard: this job can remove or deactivate data",
            "set guard.max_remove or guard.max_remove_percent so a plan that removes more than intended stops",
        );
    }
}

fn check_polling(spec: &Spec, cx: &mut Ctx<'_>) {
    let p = &spec.polling;
    if p.interval > p.max_interval {
        cx.error(
            "semantic::polling",
            "/polling/interval",
            format!(
                "polling.interval ({}) is longer than polling.max_interval ({})",
                p.interval, p.max_interval
            ),
            "",
        );
    }
    if p.max_interval > p.timeout {
        cx.error(
            "semantic::polling",
            "/polling/max_interval",
            format!(
                "polling.max_interval ({}) is longer than polling.timeout ({})",
                p.max_interval, p.timeout
            ),
            "",
        );
    }
    if spec.retry.initial_backoff > spec.retry.max_backoff {
        cx.error(
            "semantic::retry",
            "/retry/initial_backoff",
            "retry.initial_backoff is longer than retry.max_backoff",
            "",
        );
    }
}

fn check_row_templates(spec: &Spec, renderer: &Renderer, cx: &mut Ctx<'_>) {
    let mut leaves = vec![("/key".to_owned(), spec.key.clone())];
    if let Target::TransactionalData(t) = &spec.target
        && let Some(ci) = &t.contact_identifier
    {
        leaves.push(("/target/contact_identifier".into(), ci.clone()));
    }
    collect_leaves(
        &serde_json::Value::Object(spec.record.clone()),
        "/record",
        &mut leaves,
    );
    for (ptr, text) in leaves {
        if !is_template(&text) {
            continue;
        }
        let span = cx.index.find(&ptr);
        if let Some(d) = span.and_then(|s| renderer.check_env(cx.src, &text, s)) {
            cx.diags.push(d);
            continue;
        }
        match renderer.environment().template_from_str(&text) {
            Err(e) => cx
                .diags
                .push(template_diagnostic(cx.src, span.unwrap_or_default(), &e)),
            Ok(tpl) => {
                for name in tpl.undeclared_variables(false) {
                    if !matches!(name.as_str(), "row" | "vars" | "env") {
                        cx.error(
                            "render::undefined",
                            &ptr,
                            format!("`{name}` is undefined in this template"),
                            "row templates may read `row.COLUMN`, `vars.NAME` and `env.NAME`",
                        );
                    }
                }
            }
        }
    }
}

fn collect_leaves(v: &serde_json::Value, ptr: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => out.push((ptr.to_owned(), s.clone())),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| collect_leaves(x, &format!("{ptr}/{i}"), out)),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
            collect_leaves(
                x,
                &format!("{ptr}/{}", crate::spec::render::escape_pointer(k)),
                out,
            )
        }),
        _ => {}
    }
}
