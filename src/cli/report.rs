//! `bulkspec report JOB [--out FILE]`: the rows rejected at the job's last apply, as CSV
//! (source line, key, API code, reason).

use super::args::ReportArgs;
use super::{Context, Exit, state_open};
use crate::spec::workspace;

pub fn run(cx: &Context, args: &ReportArgs) -> Exit {
    let (ws, diags) = workspace::load_project_only(&cx.load_options(&[]));
    if diags.has_errors() {
        cx.out.diagnostics(&diags, ws.file_count(&diags));
        return Exit::Error;
    }
    let mut store = match state_open::open(&ws) {
        Ok(Some(s)) => s,
        Ok(None) => {
            cx.out.error(&format!(
                "error: the state has no job `{}` (nothing was applied yet)\n",
                args.job
            ));
            return Exit::Error;
        }
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let rejects = match store
        .show(&args.job)
        .and_then(|s| s.map(|_| store.rejects(&args.job)).transpose())
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            cx.out.error(&format!("error: the state has no job `{}`\n  help: `bulkspec state list` shows the jobs it has\n", args.job));
            return Exit::Error;
        }
        Err(e) => {
            cx.out.error(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    let mut buf = Vec::new();
    if let Err(e) = crate::state::write_rejects_csv(&rejects, &mut buf) {
        cx.out
            .error(&format!("error: cannot write the report: {e}\n"));
        return Exit::Error;
    }
    match &args.out {
        Some(path) => match std::fs::write(cx.dir.join(path), &buf) {
            Ok(()) => {
                cx.out.info(&format!(
                    "wrote {} rejected row(s) to {}",
                    rejects.len(),
                    path.display()
                ));
                Exit::Ok
            }
            Err(e) => {
                cx.out
                    .error(&format!("error: cannot write {}: {e}\n", path.display()));
                Exit::Error
            }
        },
        None => {
            cx.out.stdout(&String::from_utf8_lossy(&buf));
            Exit::Ok
        }
    }
}
