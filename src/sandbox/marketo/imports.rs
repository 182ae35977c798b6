//! The two bulk import endpoints (marketo.md §6, §14.7-12): parameter checks (701, 1001, 1003,
//! 1011, 613, 413), entity checks (1013, 1025, 1008/1009) that depend on strict mode, the queue
//! limit (1016), then a new `Queued` batch. The file is parsed here, outside the lock; its rows
//! reach the data when the batch finishes.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::sandbox::marketo::apply::Job;
use crate::sandbox::marketo::auth::millis;
use crate::sandbox::marketo::batches::{Batch, FileText, Status};
use crate::sandbox::marketo::parse::{self, FileKind, Format};
use crate::sandbox::marketo::store::{DEFAULT_PARTITION, Program, StaticList};
use crate::sandbox::marketo::upload::{self, Upload, UploadError};
use crate::sandbox::marketo::wire::{self, BatchView};
use crate::sandbox::marketo::{Data, Marketo, fields};

/// A refusal: the envelope code and its message.
type Refusal = (&'static str, String);

/// `POST /bulk/v1/program/{programId}/members/import.json`
pub async fn import_members(
    State(m): State<Arc<Marketo>>,
    Path(program): Path<String>,
    req: Request,
) -> Response {
    let upload = match read(&m, req).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    let Ok(program_id) = program.parse::<u64>() else {
        return wire::error(
            m.request_id(),
            "1001",
            format!("Invalid value '{program}'. Required of type 'Integer'"),
        );
    };
    let common = match common_params(&upload) {
        Ok(c) => c,
        Err((code, msg)) => return wire::error(m.request_id(), code, msg),
    };
    let Some(status) = upload
        .params
        .get("programMemberStatus")
        .filter(|s| !s.trim().is_empty())
    else {
        return wire::error(m.request_id(), "701", "programMemberStatus cannot be blank");
    };
    let job = Job::ProgramMembers {
        program_id,
        status: status.trim().to_owned(),
    };
    create(&m, job, common, FileKind::ProgramMembers, |data, strict| {
        check_program(data, strict, program_id, status.trim())
    })
}

/// `POST /bulk/v1/leads.json`
pub async fn import_leads(State(m): State<Arc<Marketo>>, req: Request) -> Response {
    let upload = match read(&m, req).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    let common = match common_params(&upload) {
        Ok(c) => c,
        Err((code, msg)) => return wire::error(m.request_id(), code, msg),
    };
    let custom = m.data().store.custom_fields.clone();
    let requested = upload
        .params
        .get("lookupField")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    let lookup_field = match requested {
        None => "email".to_owned(),
        Some(f) => match fields::lookup_field(f, &custom) {
            Some(f) => f,
            None => {
                return wire::error(m.request_id(), "1011", format!("Field '{f}' not supported"));
            }
        },
    };
    let list_id = match upload
        .params
        .get("listId")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(l) => match l.parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return wire::error(
                    m.request_id(),
                    "1001",
                    format!("Invalid value '{l}'. Required of type 'Integer'"),
                );
            }
        },
    };
    let partition = upload
        .params
        .get("partitionName")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_PARTITION.to_owned());
    let job = Job::Leads {
        lookup_field,
        list_id,
        partition: partition.clone(),
    };
    create(&m, job, common, FileKind::Leads, |data, strict| {
        check_lead_targets(data, strict, list_id, &partition)
    })
}

/// Reads the body, turning size and multipart problems into the vendor's answers.
async fn read(m: &Marketo, req: Request) -> Result<Upload, Response> {
    match upload::read(req, m.settings().max_upload_bytes).await {
        Ok(u) => Ok(u),
        Err(UploadError::TooLarge) => {
            Err((StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large").into_response())
        }
        Err(UploadError::NotMultipart) => Err(m.error("613")),
        Err(UploadError::BadMultipart(detail)) => Err(wire::error(
            m.request_id(),
            "613",
            format!("Invalid Multipart Request: {detail}"),
        )),
    }
}

/// What both imports need: the file and its format.
struct Common {
    file: axum::body::Bytes,
    format: Format,
}

fn common_params(upload: &Upload) -> Result<Common, Refusal> {
    let Some(file) = upload.file.clone() else {
        return Err(("701", "file cannot be blank".into()));
    };
    let Some(format) = upload
        .params
        .get("format")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    else {
        return Err(("701", "format cannot be blank".into()));
    };
    let Some(format) = Format::parse(format) else {
        return Err((
            "1003",
            format!("Invalid data: format '{format}' is not one of csv, tsv, ssv"),
        ));
    };
    Ok(Common { file, format })
}

/// Unknown program: 1013 when strict, created when lenient. Unknown status: 1025 for a seeded
/// program, appended for one the sandbox created.
fn check_program(
    data: &mut Data,
    strict: bool,
    program_id: u64,
    status: &str,
) -> Result<(), Refusal> {
    match data.store.programs.get_mut(&program_id) {
        None if strict => Err(("1013", "Object not found".into())),
        None => {
            let program = Program {
                id: program_id,
                statuses: vec![status.to_owned()],
                auto_created: true,
                members: Default::default(),
            };
            data.store.programs.insert(program_id, program);
            Ok(())
        }
        Some(p) if p.rank(status).is_some() => Ok(()),
        Some(p) if p.auto_created => {
            p.statuses.push(status.to_owned());
            Ok(())
        }
        Some(_) => Err(("1025", "Program status not found".into())),
    }
}

/// Static list and partition: refused when unknown in strict mode, created when lenient.
fn check_lead_targets(
    data: &mut Data,
    strict: bool,
    list_id: Option<u64>,
    partition: &str,
) -> Result<(), Refusal> {
    match data.store.partition(partition) {
        Some(p) if !p.writable => {
            return Err(("1008", format!("Access denied to partition '{partition}'")));
        }
        Some(_) => {}
        None if strict => return Err(("1009", format!("Partition '{partition}' not found"))),
        None => data
            .store
            .partitions
            .push(crate::sandbox::marketo::store::Partition {
                name: partition.to_owned(),
                writable: true,
            }),
    }
    if let Some(id) = list_id
        && !data.store.lists.contains_key(&id)
    {
        if strict {
            return Err(("1013", "Object not found".into()));
        }
        let list = StaticList {
            id,
            name: format!("List {id}"),
            leads: Default::default(),
        };
        data.store.lists.insert(id, list);
    }
    Ok(())
}

/// Parses the file, then (under the lock) checks the targets and the queue and adds the batch.
fn create(
    m: &Arc<Marketo>,
    job: Job,
    common: Common,
    kind: FileKind,
    check: impl FnOnce(&mut Data, bool) -> Result<(), Refusal>,
) -> Response {
    let custom = m.data().store.custom_fields.clone();
    let parsed = parse::parse(&common.file, common.format, kind, &custom);
    let settings = m.settings();
    let mut data = m.data();
    if data.queue.pending() >= settings.max_queued {
        return m.error("1016");
    }
    if let Err((code, message)) = check(&mut data, m.shared.strict()) {
        return wire::error(m.request_id(), code, message);
    }
    let forced = settings.fail_batches > 0;
    if forced {
        m.consume_forced_failure();
    }
    let (doomed, file, parsed) = match parsed {
        _ if forced => (
            Some("Import failed: an internal error stopped the import".to_owned()),
            None,
            None,
        ),
        Ok(p) => (None, Some(FileText(common.file.clone())), Some(Arc::new(p))),
        Err(message) => (Some(message), None, None),
    };
    let batch = Batch {
        id: 0,
        job,
        format: common.format,
        created_ms: millis(m.shared.now()),
        started_ms: None,
        status: Status::Queued,
        polls: 0,
        doomed,
        file,
        outcome: None,
        parsed,
    };
    let lead_import = kind == FileKind::Leads;
    let id = data.queue.insert(batch);
    drop(data);
    m.spawn_ticker();
    let zero = lead_import.then_some(0);
    let view = BatchView {
        batch_id: id,
        import_id: id.to_string(),
        status: Status::Queued.wire(),
        num_of_leads_processed: zero,
        num_of_rows_failed: zero,
        num_of_rows_with_warning: zero,
        message: None,
    };
    wire::ok(m.request_id(), vec![view])
}
