//! `bulkspec plan [PATH...] [--out FILE] [--detailed-exitcode]`.

use serde_json::Map;

use super::args::PlanArgs;
use super::{Context, Exit, state_open};
use crate::output::progress::SourceProgress;
use crate::plan::saved::SavedPlan;
use crate::plan::{Plan, PlanOptions, plan_workspace};
use crate::spec::workspace::{self, Workspace};

pub fn run(cx: &Context, args: &PlanArgs) -> Exit {
    let (ws, diags) = workspace::load(&cx.load_options(&args.paths.paths));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    cx.out.warnings(&diags);
    let mut store = match state_open::open(&ws) {
        Ok(s) => s,
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let opts = PlanOptions {
        allow_destructive: args.allow_destructive,
        show_values: args.show_values,
        mask_keys: args.mask_keys,
        report_orphans: args.paths.paths.is_empty(),
    };
    let mut progress = SourceProgress::new(cx.out.quiet);
    let (mut plan, errors) = plan_workspace(&ws, store.as_mut(), &opts, &mut |job, read, total| {
        progress.update(job, read, total)
    });
    progress.finish();
    let mut exit = Exit::Ok;
    for e in &errors {
        cx.out.error(&format!("error: {e}\n"));
        exit = Exit::Error;
    }
    if let Some(out) = &args.out
        && errors.is_empty()
        && let Err(e) = save(&ws, &mut plan, out)
    {
        cx.out.error(&format!("error: {e}\n"));
        exit = Exit::Error;
    }
    let failed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    cx.out.plan(&plan, &failed);
    if let Some(out) = &args.out
        && exit == Exit::Ok
    {
        cx.out.info(&format!(
            "Saved the plan to {}; apply exactly this plan with `bulkspec apply --plan {}`.",
            out.display(),
            out.display()
        ));
    }
    if plan.summary.guard_violations > 0 {
        cx.out.error("error: a guard stopped the plan (see above); raise the guard in the spec if the removal is intended\n");
        exit = Exit::Error;
    }
    if exit == Exit::Ok && args.detailed_exitcode && plan.summary.changes {
        return Exit::Changes;
    }
    exit
}

/// Pins the source files' digests and writes the saved plan.
fn save(ws: &Workspace, plan: &mut Plan, out: &std::path::Path) -> Result<(), String> {
    let mut specs = Map::new();
    for job in &mut plan.jobs {
        job.pins.source_sha256 = crate::source::file_digest(&ws.root.join(&job.pins.source_path))
            .map_err(|e| e.to_string())?;
        if let Some(s) = ws.specs.iter().find(|s| s.spec.job == job.job) {
            specs.insert(job.job.clone(), s.rendered.clone());
        }
    }
    SavedPlan::new(plan.clone(), specs)
        .write(out)
        .map_err(|e| e.to_string())
}
