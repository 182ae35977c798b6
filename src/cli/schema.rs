//! `bulkspec schema [--out FILE] [--check]`.

use std::path::Path;

use super::args::SchemaArgs;
use super::{Context, Exit};
use crate::spec::schema::{
    PROJECT_SCHEMA_PATH, SPEC_SCHEMA_PATH, project_schema, spec_schema, to_text,
};

pub fn run(cx: &Context, args: &SchemaArgs) -> Exit {
    let spec = to_text(&spec_schema());
    let project = to_text(&project_schema());
    if args.reference {
        cx.out.stdout(&crate::spec::reference::markdown());
        return Exit::Ok;
    }
    if args.check {
        return check(
            cx,
            &[(SPEC_SCHEMA_PATH, &spec), (PROJECT_SCHEMA_PATH, &project)],
        );
    }
    match &args.out {
        Some(file) => {
            let project_file = file.with_file_name("bulkspec-project.schema.json");
            for (path, text) in [(file.as_path(), &spec), (project_file.as_path(), &project)] {
                if let Err(e) = write(&cx.dir.join(path), text) {
                    cx.out
                        .error(&format!("error: cannot write {}: {e}\n", path.display()));
                    return Exit::Error;
                }
                cx.out.info(&format!("wrote {}", path.display()));
            }
        }
        None => cx.out.stdout(&spec),
    }
    Exit::Ok
}

fn check(cx: &Context, files: &[(&str, &String)]) -> Exit {
    let mut stale = Vec::new();
    for (path, text) in files {
        match std::fs::read_to_string(cx.dir.join(path)) {
            Ok(current) if &current == *text => {}
            Ok(_) => stale.push(format!("{path} is stale")),
            Err(e) => stale.push(format!("{path}: {e}")),
        }
    }
    if stale.is_empty() {
        cx.out.info("schemas are up to date");
        return Exit::Ok;
    }
    cx.out.error(&format!(
        "error: {}\n  help: regenerate with `bulkspec schema --out {SPEC_SCHEMA_PATH}` and commit the result\n",
        stale.join("; ")
    ));
    Exit::Error
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}
