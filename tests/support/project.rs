//! Test and bench support: copies of the repository's project and specs in a temp dir, and a
//! recorded state as an apply that had every record accepted would leave it (the same mapping
//! and diff code, committed to the real SQLite state). Included with `#[path]`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use bulkspec::plan::diff::{self, DiffOptions, Seen, Visitor};
use bulkspec::state::{RecordRef, StateStore};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            if e.file_name() != ".bulkspec" && e.file_name() != "ci" {
                copy_dir(&e.path(), &to.join(e.file_name()));
            }
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A copy of the repository's project file and specs in a temp dir (no state).
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("bulkspec.yaml"),
        dir.path().join("bulkspec.yaml"),
    )
    .unwrap();
    copy_dir(&repo().join("specs"), &dir.path().join("specs"));
    dir
}

/// Records the state an apply of `spec_file` would leave if every record were accepted.
pub fn record_state(dir: &Path, spec_file: &str) {
    let opts = bulkspec::spec::workspace::LoadOptions {
        dir: dir.to_path_buf(),
        paths: vec![PathBuf::from(spec_file)],
        ..Default::default()
    };
    let (ws, diags) = bulkspec::spec::workspace::load(&opts);
    assert!(!diags.has_errors(), "{diags:?}");
    let loaded = &ws.specs[0];
    let read = bulkspec::source::options::read_options(&loaded.path, &loaded.spec.source).unwrap();
    let mut reader = bulkspec::source::SourceReader::open(&read).unwrap();
    let mapper = bulkspec::source::map::Mapper::new(&loaded.spec, &ws.context, &reader).unwrap();
    let mut session = mapper.session().unwrap();
    struct Collect(Vec<(u64, u64, String)>);
    impl Visitor for Collect {
        fn record(&mut self, s: &Seen<'_>) {
            self.0.push((s.key_hash, s.content_hash, s.key.to_owned()));
        }
        fn invalid(&mut self, _: u64, _: Option<&str>, _: &str) {}
    }
    let mut c = Collect(Vec::new());
    let opts = DiffOptions {
        delete_mode: false,
        max_request_bytes: 10_000_000,
        request_overhead: 0,
    };
    diff::run(&mut reader, &mut session, Default::default(), opts, &mut c).unwrap();
    let path = dir.join(".bulkspec/state.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut store = bulkspec::state::SqliteStore::open(&path).unwrap();
    let mut it = c.0.iter().map(|(k, h, key)| RecordRef {
        key_hash: *k,
        content_hash: *h,
        key,
    });
    store
        .commit_records(&loaded.spec.job, &mut it, &[])
        .unwrap();
    store
        .record_apply(
            &loaded.spec.job,
            &serde_json::to_string(&loaded.rendered).unwrap(),
            &[],
        )
        .unwrap();
}
