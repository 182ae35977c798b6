//! Field discovery: `/contacts/fields` and `/opportunities/fields` (paged), and the catalog that
//! definition validation uses to check `{{Contact.Field(...)}}` statements and identifier types.
//!
//! The catalog is a fixed set of Eloqua's standard fields; in non-strict mode contact fields that
//! imports mention are added on the fly (they show up in the listing too).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::Eloqua;
use super::errors::ApiError;
use super::paging::{Params, page};
use super::wire::FieldItem;

/// (display name, internal name, data type, read-only, unique)
type FieldDef = (&'static str, &'static str, &'static str, bool, bool);

const CONTACT_FIELDS: &[FieldDef] = &[
    (
        "Email Address",
        "C_EmailAddress",
        "emailAddress",
        false,
        true,
    ),
    ("First Name", "C_FirstName", "string", false, false),
    ("Last Name", "C_LastName", "string", false, false),
    ("Company", "C_Company", "string", false, false),
    ("Title", "C_Title", "string", false, false),
    ("Business Phone", "C_BusPhone", "string", false, false),
    ("Mobile Phone", "C_MobilePhone", "string", false, false),
    ("Address 1", "C_Address1", "string", false, false),
    ("City", "C_City", "string", false, false),
    ("State or Province", "C_State_Prov", "string", false, false),
    ("Zip or Postal Code", "C_Zip_Postal", "string", false, false),
    ("Country", "C_Country", "string", false, false),
    ("Salesperson", "C_Salesperson", "string", false, false),
    ("Annual Revenue", "C_Annual_Revenue", "number", false, false),
    ("Do Not Call", "C_Do_Not_Call", "boolean", false, false),
    ("Eloqua Contact ID", "ContactIDExt", "string", true, true),
    (
        "Email Address Domain",
        "C_EmailAddressDomain",
        "string",
        true,
        false,
    ),
    ("Date Created", "C_DateCreated", "date", true, false),
    ("Date Modified", "C_DateModified", "date", true, false),
];

const OPPORTUNITY_FIELDS: &[FieldDef] = &[
    ("Name", "Name", "string", false, false),
    ("Stage", "Stage", "string", false, false),
    ("Amount", "Amount", "number", false, false),
    ("Close Date", "CloseDate", "date", false, false),
    ("Currency", "Currency", "string", false, false),
    (
        "Forecast To Close Date",
        "ForecastToCloseDate",
        "date",
        false,
        false,
    ),
];

/// First id of the standard contact fields; fields added on the fly follow the catalog.
const CONTACT_FIELD_BASE_ID: u64 = 100_001;
const OPPORTUNITY_FIELD_BASE_ID: u64 = 300_001;

/// The data type of a contact field, `None` when the field does not exist.
pub fn contact_field_type(
    internal: &str,
    extra: &std::collections::BTreeSet<String>,
) -> Option<&'static str> {
    CONTACT_FIELDS
        .iter()
        .find(|f| f.1.eq_ignore_ascii_case(internal))
        .map(|f| f.2)
        .or_else(|| extra.contains(internal).then_some("string"))
}

/// Whether a standard contact field is read-only (Eloqua computes it).
pub fn contact_field_read_only(internal: &str) -> bool {
    CONTACT_FIELDS
        .iter()
        .any(|f| f.1.eq_ignore_ascii_case(internal) && f.3)
}

/// Whether an opportunity field exists.
pub fn opportunity_field_exists(internal: &str) -> bool {
    OPPORTUNITY_FIELDS
        .iter()
        .any(|f| f.1.eq_ignore_ascii_case(internal))
}

fn item(def: &FieldDef, entity: &str, path: &str, id: u64) -> FieldItem {
    FieldItem {
        name: def.0.to_string(),
        internal_name: def.1.to_string(),
        data_type: def.2.to_string(),
        statement: format!("{{{{{entity}.Field({})}}}}", def.1),
        has_not_null_constraint: false,
        has_read_only_constraint: def.3,
        has_uniqueness_constraint: def.4,
        uri: format!("{path}/{id}"),
    }
}

fn contact_items(emu: &Eloqua) -> Vec<FieldItem> {
    let store = emu.lock();
    let mut items: Vec<FieldItem> = CONTACT_FIELDS
        .iter()
        .zip(CONTACT_FIELD_BASE_ID..)
        .map(|(def, id)| item(def, "Contact", "/contacts/fields", id))
        .collect();
    let next = CONTACT_FIELD_BASE_ID + u64::try_from(CONTACT_FIELDS.len()).unwrap_or(0);
    for (name, id) in store.extra_contact_fields.iter().zip(next..) {
        items.push(FieldItem {
            name: name.clone(),
            internal_name: name.clone(),
            data_type: "string".into(),
            statement: format!("{{{{Contact.Field({name})}}}}"),
            has_not_null_constraint: false,
            has_read_only_constraint: false,
            has_uniqueness_constraint: false,
            uri: format!("/contacts/fields/{id}"),
        });
    }
    items
}

fn opportunity_items() -> Vec<FieldItem> {
    OPPORTUNITY_FIELDS
        .iter()
        .zip(OPPORTUNITY_FIELD_BASE_ID..)
        .map(|(def, id)| item(def, "Opportunity", "/opportunities/fields", id))
        .collect()
}

fn list(items: Vec<FieldItem>, params: &Params) -> Response {
    let values = items
        .into_iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect();
    match page(values, params, 1000) {
        Ok(p) => Json(p).into_response(),
        Err(e) => e.into_response(),
    }
}

fn one(items: Vec<FieldItem>, path: &str, id: &str) -> Response {
    let uri = format!("{path}/{id}");
    match items.into_iter().find(|i| i.uri == uri) {
        Some(item) => Json(item).into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

pub async fn list_contact_fields(
    State(emu): State<Arc<Eloqua>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list(contact_items(&emu), &Params::new(q))
}

pub async fn get_contact_field(State(emu): State<Arc<Eloqua>>, Path(id): Path<String>) -> Response {
    one(contact_items(&emu), "/contacts/fields", &id)
}

pub async fn list_opportunity_fields(Query(q): Query<HashMap<String, String>>) -> Response {
    list(opportunity_items(), &Params::new(q))
}

pub async fn get_opportunity_field(Path(id): Path<String>) -> Response {
    one(opportunity_items(), "/opportunities/fields", &id)
}
