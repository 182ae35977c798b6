//! Loading a whole workspace: the project file, the var files, and every spec file named on
//! the command line (or the project's spec folder), through load, render and validate, plus
//! the checks across files (duplicate job names, unknown or cyclic `depends_on`). Every
//! problem of every file is collected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::project::{Project, find_project_file};
use super::render::{RenderContext, Renderer, SpanIndex};
use super::schema::{project_schema, spec_schema, validators};
use super::semantic::{Ctx, check_spec};
use super::source_text::SourceText;
use super::types::Spec;
use super::validate::validate_typed;
use super::yaml::{self, Limits};

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Working directory (`-C DIR` or the process's).
    pub dir: PathBuf,
    /// Spec files or folders; empty means the project's spec folder.
    pub paths: Vec<PathBuf>,
    /// `--var KEY=VALUE`, in order.
    pub vars: Vec<String>,
    /// `--var-file FILE`, in order.
    pub var_files: Vec<PathBuf>,
}

/// A spec that loaded, rendered and validated.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub path: PathBuf,
    pub src: SourceText,
    pub spec: Spec,
    /// The rendered document (what `render` prints and the state records).
    pub rendered: Json,
    pub index: SpanIndex,
}

/// The project and its specs.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Folder of the project file (or the working directory when there is none).
    pub root: PathBuf,
    pub project_file: Option<PathBuf>,
    pub project: Project,
    pub specs: Vec<LoadedSpec>,
    /// The merged `vars` and allowed `env` templates saw.
    pub context: RenderContext,
}

impl Workspace {
    fn empty(root: PathBuf, project_file: Option<PathBuf>) -> Self {
        Self {
            root,
            project_file,
            project: Project::default(),
            specs: Vec::new(),
            context: RenderContext::default(),
        }
    }

    /// Number of distinct files looked at: loaded specs and files with diagnostics.
    pub fn file_count(&self, diags: &Diagnostics) -> usize {
        let mut files: BTreeSet<&Path> = self.specs.iter().map(|s| s.src.path()).collect();
        files.extend(diags.iter().map(|d| d.file.as_path()));
        files.len()
    }
}

/// Loads the project file alone (commands that need the state, not the specs).
pub fn load_project_only(opts: &LoadOptions) -> (Workspace, Diagnostics) {
    let mut diags = Diagnostics::default();
    let project_file = find_project_file(&opts.dir);
    let root = project_file
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(|| opts.dir.clone(), Path::to_path_buf);
    let project = match project_file.as_deref() {
        Some(p) => load_project(&display(&opts.dir, p), p, &mut diags).unwrap_or_default(),
        None => Project::default(),
    };
    let mut ws = Workspace::empty(root, project_file);
    ws.project = project;
    (ws, diags)
}

/// Loads everything; the workspace is returned even when some files failed, with those files
/// left out, so callers decide whether diagnostics are fatal.
pub fn load(opts: &LoadOptions) -> (Workspace, Diagnostics) {
    let mut diags = Diagnostics::default();
    let project_file = find_project_file(&opts.dir);
    let root = project_file
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(|| opts.dir.clone(), Path::to_path_buf);
    let project = match project_file.as_deref() {
        Some(p) => match load_project(&display(&opts.dir, p), p, &mut diags) {
            Some(project) => project,
            // Specs read vars and connections from the project: checking them against a
            // broken one would only add noise.
            None => return (Workspace::empty(root, project_file), diags),
        },
        None => Project::default(),
    };
    let context = render_context(&project, opts, &mut diags);
    let renderer = Renderer::new(&context);
    let files = spec_files(opts, &root, &project, &mut diags);
    let mut specs = Vec::new();
    for file in files {
        if let Some(s) = load_spec(
            &display(&opts.dir, &file),
            &file,
            &project,
            &renderer,
            &mut diags,
        ) {
            specs.push(s);
        }
    }
    check_jobs(&specs, !opts.paths.is_empty(), &mut diags);
    (
        Workspace {
            root,
            project_file,
            project,
            specs,
            context,
        },
        diags,
    )
}

fn display(dir: &Path, p: &Path) -> PathBuf {
    p.strip_prefix(dir)
        .map_or_else(|_| p.to_path_buf(), Path::to_path_buf)
}

fn read_yaml(
    shown: &Path,
    path: &Path,
    diags: &mut Diagnostics,
) -> Option<(SourceText, yaml::Node)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::file_error(
                "io::read",
                shown,
                format!("cannot read the file: {e}"),
            ));
            return None;
        }
    };
    match yaml::load_bytes(shown, &bytes, Limits::default()) {
        Ok(v) => Some(v),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

fn load_project(shown: &Path, path: &Path, diags: &mut Diagnostics) -> Option<Project> {
    let (src, node) = read_yaml(shown, path, diags)?;
    let (doc, index) = Renderer::new(&RenderContext::default()).plain(&src, &node);
    let v = validators()
        .map_err(|e| diags.push(Diagnostic::file_error("schema::bug", shown, e)))
        .ok()?;
    validate_typed::<Project>(&v.project, &project_schema(), &doc, &src, &index, diags)
}

fn render_context(project: &Project, opts: &LoadOptions, diags: &mut Diagnostics) -> RenderContext {
    let mut vars = project.vars.clone();
    for file in &opts.var_files {
        let shown = display(&opts.dir, file);
        let path = opts.dir.join(file);
        let Some((src, node)) = read_yaml(&shown, &path, diags) else {
            continue;
        };
        match Renderer::new(&RenderContext::default())
            .plain(&src, &node)
            .0
        {
            Json::Object(m) => vars.extend(m),
            _ => diags.push(
                Diagnostic::error(
                    "vars::not-a-mapping",
                    &src,
                    Some(node.span),
                    "a var file must be a mapping of names to values",
                )
                .with_hint("write `name: value` lines"),
            ),
        }
    }
    for kv in &opts.vars {
        match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                vars.insert(k.trim().to_owned(), scalar_to_json(v));
            }
            _ => diags.push(
                Diagnostic::file_error("vars::syntax", "--var", format!("`{kv}` is not KEY=VALUE"))
                    .with_hint("write --var program_id=1040"),
            ),
        }
    }
    let env_allowed: BTreeSet<String> = project.env.iter().cloned().collect();
    let env: Map<String, Json> = env_allowed
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.clone(), Json::String(v))))
        .collect();
    RenderContext {
        vars,
        env,
        env_allowed,
    }
}

/// `--var` values are YAML plain scalars: `1040` is a number, `true` a boolean.
fn scalar_to_json(text: &str) -> Json {
    match yaml::resolve_plain(text) {
        yaml::Value::Null => Json::Null,
        yaml::Value::Bool(b) => Json::Bool(b),
        yaml::Value::Int(i) => Json::from(i),
        yaml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map_or(Json::String(text.into()), Json::Number)
        }
        _ => Json::String(text.to_owned()),
    }
}

fn spec_files(
    opts: &LoadOptions,
    root: &Path,
    project: &Project,
    diags: &mut Diagnostics,
) -> Vec<PathBuf> {
    let roots: Vec<PathBuf> = if opts.paths.is_empty() {
        vec![root.join(&project.specs)]
    } else {
        opts.paths.iter().map(|p| opts.dir.join(p)).collect()
    };
    let mut files = BTreeSet::new();
    for r in roots {
        if r.is_dir() {
            walk(&r, &mut files);
        } else if r.is_file() {
            files.insert(r);
        } else {
            diags.push(
                Diagnostic::file_error(
                    "io::not-found",
                    display(&opts.dir, &r),
                    "no such file or folder",
                )
                .with_hint("name spec files or folders that hold them"),
            );
        }
    }
    files.into_iter().collect()
}

fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden folders and `ci/` (CI recipes are YAML too) are not specs.
        if name.starts_with('.')
            || name == super::project::PROJECT_FILE
            || (name == "ci" && entry.path().is_dir())
        {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.insert(path);
        }
    }
}

fn load_spec(
    shown: &Path,
    path: &Path,
    project: &Project,
    renderer: &Renderer,
    diags: &mut Diagnostics,
) -> Option<LoadedSpec> {
    let (src, node) = read_yaml(shown, path, diags)?;
    let before = diags.error_count();
    let (rendered, index) = renderer.render(&src, &node, diags);
    if diags.error_count() > before {
        return None;
    }
    let v = validators()
        .map_err(|e| diags.push(Diagnostic::file_error("schema::bug", shown, e)))
        .ok()?;
    let spec = validate_typed::<Spec>(&v.spec, &spec_schema(), &rendered, &src, &index, diags)?;
    check_spec(
        &spec,
        project,
        renderer,
        &mut Ctx {
            src: &src,
            index: &index,
            diags,
        },
    );
    if diags.error_count() > before {
        return None;
    }
    Some(LoadedSpec {
        path: path.to_path_buf(),
        src,
        spec,
        rendered,
        index,
    })
}

/// Duplicate job names, unknown and cyclic `depends_on`.
fn check_jobs(specs: &[LoadedSpec], subset: bool, diags: &mut Diagnostics) {
    let mut by_name: HashMap<&str, &LoadedSpec> = HashMap::new();
    for s in specs {
        if let Some(first) = by_name.get(s.spec.job.as_str()) {
            let mut d = Diagnostic::error(
                "workspace::duplicate-job",
                &s.src,
                s.index.find("/job"),
                format!("job `{}` is defined twice", s.spec.job),
            )
            .with_hint("job names are the state key: give each spec its own");
            if let Some(span) = first.index.find("/job") {
                d = d.with_related(span, "first defined here");
                if let Some(r) = d.related.as_mut() {
                    r.file = first.src.path().to_path_buf();
                }
            }
            diags.push(d);
        } else {
            by_name.insert(&s.spec.job, s);
        }
    }
    let names: Vec<&str> = by_name.keys().copied().collect();
    for s in specs {
        for (i, dep) in s.spec.depends_on.iter().enumerate() {
            let ptr = format!("/depends_on/{i}");
            if dep == &s.spec.job {
                diags.push(Diagnostic::error(
                    "workspace::depends-on",
                    &s.src,
                    s.index.find(&ptr),
                    "a job cannot depend on itself",
                ));
            } else if !by_name.contains_key(dep.as_str()) {
                let d = Diagnostic::error(
                    "workspace::depends-on",
                    &s.src,
                    s.index.find(&ptr),
                    format!("unknown job `{dep}` in depends_on"),
                );
                diags.push(match did_you_mean(dep, names.iter().copied()) {
                    Some(m) => d.with_hint(format!("did you mean `{m}`?")),
                    // Only some files were named: the job may well exist elsewhere.
                    None if subset => Diagnostic {
                        message: format!("job `{dep}` in depends_on is not among the specs given; it is not checked or run now"),
                        ..d
                    }
                    .warning(),
                    None => d.with_hint("name a job defined in one of the spec files"),
                });
            }
        }
    }
    for cycle in find_cycles(specs) {
        let Some(s) = specs.iter().find(|s| s.spec.job == cycle[0]) else {
            continue;
        };
        diags.push(
            Diagnostic::error(
                "workspace::cycle",
                &s.src,
                s.index.find("/depends_on"),
                format!("depends_on cycle: {}", cycle.join(" -> ")),
            )
            .with_hint("remove one of the dependencies"),
        );
    }
}

/// Each cycle once, as the list of jobs from its smallest name back to it.
pub fn find_cycles(specs: &[LoadedSpec]) -> Vec<Vec<String>> {
    let graph: BTreeMap<&str, Vec<&str>> = specs
        .iter()
        .map(|s| {
            (
                s.spec.job.as_str(),
                s.spec.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut cycles = Vec::new();
    for &start in graph.keys() {
        let mut stack = vec![(start, vec![start])];
        while let Some((node, path)) = stack.pop() {
            for &next in graph.get(node).into_iter().flatten() {
                if next == start {
                    let mut key: Vec<&str> = path.clone();
                    key.sort_unstable();
                    if seen.insert(key) {
                        let mut c: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                        c.push(start.to_owned());
                        cycles.push(c);
                    }
                } else if !path.contains(&next) && graph.contains_key(next) && next > start {
                    let mut p = path.clone();
                    p.push(next);
                    stack.push((next, p));
                }
            }
        }
    }
    cycles
}

/// Jobs in dependency order (dependencies first); ties by name.
pub fn order(specs: &[LoadedSpec]) -> Vec<&LoadedSpec> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    let mut pending: Vec<&LoadedSpec> = specs.iter().collect();
    pending.sort_by(|a, b| a.spec.job.cmp(&b.spec.job));
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|s| {
            let ready = s
                .spec
                .depends_on
                .iter()
                .all(|d| done.contains(d.as_str()) || !specs.iter().any(|x| &x.spec.job == d));
            if ready {
                done.insert(&s.spec.job);
                out.push(*s);
            }
            !ready
        });
        if pending.len() == before {
            out.append(&mut pending);
        }
    }
    out
}
