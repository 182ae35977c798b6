//! The plan of one job: open its source, compile its mapping, load its recorded hashes, run
//! the diff with a visitor that samples keys and invalid rows, then predict steps, evaluate
//! guards and collect warnings.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diff::{self, Class, DiffOptions, DiffResult, Seen, Visitor};
use super::model::{Counts, InvalidRow, JobPlan, KeySamples, Pins};
use super::{PlanError, PlanOptions, config, guard, steps};
use crate::source::map::{Mapper, Session, Wire};
use crate::source::{Row, SourceReader};
use crate::spec::types::{Mode, Spec, Target};
use crate::spec::workspace::{LoadedSpec, Workspace};
use crate::state::{RecordHashes, StateStore};

/// Keys kept per class in a plan.
const KEY_SAMPLES: usize = 50;
/// Invalid rows kept in a plan.
const INVALID_SAMPLES: usize = 1000;
/// Records whose values `--show-values` shows.
const VALUE_SAMPLES: usize = 10;

/// Plans one job against `store` (None: nothing was ever applied).
pub fn plan_job(
    ws: &Workspace,
    loaded: &LoadedSpec,
    mut store: Option<&mut Box<dyn StateStore>>,
    opts: &PlanOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<JobPlan, PlanError> {
    let spec = &loaded.spec;
    let job = spec.job.clone();
    let read_opts = crate::source::options::read_options(&loaded.path, &spec.source)
        .map_err(|e| PlanError::job(&job, e))?;
    let mut reader = SourceReader::open(&read_opts).map_err(|e| PlanError::job(&job, e))?;
    let mapper = Mapper::new(spec, &ws.context, &reader).map_err(|e| PlanError::job(&job, e))?;
    let mut session = mapper.session().map_err(|e| PlanError::job(&job, e))?;
    let (state, summary, applied) = match store.as_deref_mut() {
        Some(s) => {
            let summary = s.show(&job).map_err(|e| PlanError::job(&job, e))?;
            let hashes = if summary.is_some() {
                s.load_hashes(&job).map_err(|e| PlanError::job(&job, e))?
            } else {
                RecordHashes::default()
            };
            let applied = s.applied_spec(&job).map_err(|e| PlanError::job(&job, e))?;
            (hashes, summary, applied)
        }
        None => (RecordHashes::default(), None, None),
    };
    let recorded = state.len() as u64;
    let max_request_bytes = spec
        .limits
        .max_request_bytes
        .map_or(spec.target.provider().default_request_bytes(), |s| s.0);
    let diff_opts = DiffOptions {
        delete_mode: spec.mode == Mode::Delete,
        max_request_bytes,
        request_overhead: mapper.header_bytes,
    };
    let mut sampler = Sampler::new(opts, progress);
    let diff = diff::run(&mut reader, &mut session, state, diff_opts, &mut sampler)
        .map_err(|e| PlanError::job(&job, e))?;
    if !diff.duplicates.is_empty() {
        return Err(PlanError::Duplicates {
            job,
            path: read_opts.path.display().to_string(),
            duplicates: diff.duplicates,
            count: diff.duplicate_count,
        });
    }
    let applied: Option<Value> = applied.and_then(|t| serde_json::from_str(&t).ok());
    let steps = steps::predict(spec, &diff, max_request_bytes);
    let effects = guard::destructive_effects(spec, &diff);
    let pins = Pins {
        spec_sha256: spec_digest(&loaded.rendered),
        source_path: read_opts
            .path
            .strip_prefix(&ws.root)
            .unwrap_or(&read_opts.path)
            .display()
            .to_string(),
        source_sha256: String::new(),
        state_lineage: summary.as_ref().map(|s| s.lineage.clone()),
        state_serial: summary.as_ref().map_or(0, |s| s.serial),
    };
    let mut plan = JobPlan {
        job: job.clone(),
        provider: spec.target.provider().to_string(),
        object: spec.target.object().into(),
        connection: spec.target.connection().into(),
        mode: mode_name(spec.mode).into(),
        records: counts(&diff),
        config_changes: config::changes(applied.as_ref(), &loaded.rendered),
        api_calls: steps.iter().map(|s| s.requests).sum(),
        steps,
        destructive: !effects.is_empty(),
        destructive_effects: effects,
        guard_violation: guard::violation(spec, &diff, recorded),
        warnings: warnings(spec, &diff, opts),
        keys: sampler.keys,
        invalid: sampler.invalid,
        pins,
        values: sampler.values,
    };
    plan.destructive |= plan.config_changes.iter().any(|c| c.destructive);
    if let Some(s) = store
        && !diff.removed.is_empty()
    {
        fill_removed_keys(&mut plan, &diff.removed, s, opts)?;
    }
    Ok(plan)
}

/// Fills in the keys of removed records from the state (the diff only has their hashes).
fn fill_removed_keys(
    plan: &mut JobPlan,
    removed: &[u64],
    store: &mut Box<dyn StateStore>,
    opts: &PlanOptions,
) -> Result<(), PlanError> {
    let sample: Vec<u64> = removed.iter().take(KEY_SAMPLES).copied().collect();
    let keys = store
        .keys_for(&plan.job, &sample)
        .map_err(|e| PlanError::job(&plan.job, e))?;
    plan.keys.remove = keys.into_iter().map(|(_, k)| mask(&k, opts)).collect();
    plan.keys.truncated |= removed.len() > KEY_SAMPLES;
    Ok(())
}

fn counts(d: &DiffResult) -> Counts {
    Counts {
        add: d.add,
        change: d.change,
        unchanged: d.unchanged,
        remove: d.removed.len() as u64 + d.delete,
        invalid: d.invalid,
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Upsert => "upsert",
        Mode::Mirror => "mirror",
        Mode::Delete => "delete",
    }
}

/// sha256 of the rendered spec's JSON text.
pub fn spec_digest(rendered: &Value) -> String {
    let text = serde_json::to_string(rendered).unwrap_or_default();
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key as shown: itself, or a short hash with `--mask-keys`.
pub fn mask(key: &str, opts: &PlanOptions) -> String {
    if opts.mask_keys {
        format!("#{:012x}", xxhash_rust::xxh3::xxh3_64(key.as_bytes()) >> 16)
    } else {
        key.to_owned()
    }
}

fn warnings(spec: &Spec, diff: &DiffResult, opts: &PlanOptions) -> Vec<String> {
    let mut w = Vec::new();
    if diff.invalid > 0 {
        w.push(format!(
            "{} row(s) are invalid and will not be sent; fix them in the source",
            diff.invalid
        ));
    }
    if spec.mode == Mode::Upsert && !diff.removed.is_empty() {
        w.push(format!(
            "{} record(s) left the source; mode `upsert` does not remove them remotely, the state only forgets them",
            diff.removed.len()
        ));
    }
    if let Some(column) = unmatched_reject_column(spec)
        && diff.add + diff.change > 0
    {
        w.push(format!(
            "Marketo names rejected rows by `{column}` only and this job's key is not the `{column}` value: a remote job with any reject keeps all its records pending, to be sent again (key the job by `{column}` to retry only the rejected rows)"
        ));
    }
    if let Target::TransactionalData(_) = &spec.target
        && diff.add + diff.change > 0
    {
        w.push("Dotdigital accepts records of unknown contacts (202) and rejects them only in the import report".into());
    }
    if spec.is_destructive()
        && !(spec.guard.allow_destructive || opts.allow_destructive)
        && diff.add + diff.change + diff.delete + diff.removed.len() as u64 > 0
    {
        w.push("this plan is destructive: apply needs --allow-destructive or guard.allow_destructive: true".into());
    }
    w
}

/// The column Marketo's failures files name rows by (email, or the leads' lookup field), when
/// the job's key is not made the same way, so a reject cannot be tied to one record.
fn unmatched_reject_column(spec: &Spec) -> Option<&str> {
    let column = spec.marketo_match_column()?;
    let squash = |t: &str| t.split_whitespace().collect::<String>();
    let same = spec
        .record
        .get(column)
        .and_then(Value::as_str)
        .is_some_and(|t| squash(t) == squash(&spec.key));
    (!same).then_some(column)
}

/// Keeps a sample of keys, the first invalid rows and (with --show-values) some records.
struct Sampler<'a> {
    opts: &'a PlanOptions,
    keys: KeySamples,
    invalid: Vec<InvalidRow>,
    values: Vec<Value>,
    progress: &'a mut dyn FnMut(u64, Option<u64>),
}

impl<'a> Sampler<'a> {
    fn new(opts: &'a PlanOptions, progress: &'a mut dyn FnMut(u64, Option<u64>)) -> Self {
        Self {
            opts,
            keys: KeySamples::default(),
            invalid: Vec::new(),
            values: Vec::new(),
            progress,
        }
    }
}

impl Visitor for Sampler<'_> {
    fn record(&mut self, seen: &Seen<'_>) {
        let list = match seen.class {
            Class::Add => &mut self.keys.add,
            Class::Change => &mut self.keys.change,
            Class::Delete => &mut self.keys.remove,
            Class::Unchanged => return,
        };
        if list.len() < KEY_SAMPLES {
            list.push(mask(seen.key, self.opts));
        } else {
            self.keys.truncated = true;
        }
    }

    fn invalid(&mut self, line: u64, key: Option<&str>, reason: &str) {
        if self.invalid.len() < INVALID_SAMPLES {
            self.invalid.push(InvalidRow {
                line,
                key: key.map(|k| mask(k, self.opts)),
                reason: reason.to_owned(),
            });
        }
    }

    fn wants_record(&self, seen: &Seen<'_>) -> bool {
        self.opts.show_values && seen.class.is_sent() && self.values.len() < VALUE_SAMPLES
    }

    fn record_of(&mut self, seen: &Seen<'_>, session: &mut Session<'_>, row: &Row<'_>) {
        if let Ok((_, contact, record)) = session.record(row) {
            let mut v = serde_json::json!({"key": mask(seen.key, self.opts), "line": seen.line, "record": record});
            if let Some(c) = contact {
                v["contact_identifier"] = Value::String(c);
            }
            self.values.push(v);
        }
    }

    fn progress(&mut self, read: u64, total: Option<u64>) {
        (self.progress)(read, total);
    }
}

/// The wire of a spec, re-exported for renderers that describe uploads.
pub fn wire(spec: &Spec) -> Wire {
    crate::source::map::wire_for(spec)
}
