//! Exception records (notes §4.5) as rejects: `SequenceNumber` is the 1-based position of
//! the record over every Stage call of the import (the emulator numbers staging and execution
//! exceptions alike), so it maps to `RejectAt::Index(SequenceNumber - 1)`, the 0-based
//! position over the batch's uploads. The code and reason come from the record's
//! `Exceptions` and, when those are empty, from the `Exceptions` of its nested elements
//! (an email entry can carry its own).

use serde_json::Value;

use super::wire::{ExceptionDefinition, ExceptionRecord, ExceptionsPage};
use crate::providers::{ProviderError, RejectAt, RemoteReject};

/// The exception records of one page.
pub fn page_records(
    page: &mut ExceptionsPage,
    collection: &str,
) -> Result<Vec<ExceptionRecord>, ProviderError> {
    match page.rest.remove(collection) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list) => serde_json::from_value(list).map_err(|e| ProviderError::Permanent {
            message: format!(
                "MyPreferences exceptions page: `{collection}` is not understood: {e}"
            ),
        }),
    }
}

/// One exception record as a reject.
pub fn to_reject(record: ExceptionRecord) -> Result<RemoteReject, ProviderError> {
    let seq = record.sequence_number.filter(|&s| s > 0).ok_or_else(|| ProviderError::Permanent {
        message: "MyPreferences returned an exception record without a SequenceNumber: cannot tell which record it is"
            .to_owned(),
    })?;
    let mut definitions = record.exceptions;
    if definitions.is_empty() {
        nested(&Value::Object(record.rest), &mut definitions);
    }
    let code = definitions
        .iter()
        .map(|d| d.code.as_str())
        .find(|c| !c.is_empty())
        .unwrap_or("Exception");
    let reason = definitions
        .iter()
        .filter_map(|d| d.message.as_deref())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(RemoteReject {
        at: RejectAt::Index(seq - 1),
        code: code.to_owned(),
        reason: if reason.is_empty() {
            "rejected by MyPreferences (no reason given)".to_owned()
        } else {
            reason
        },
    })
}

/// Collects the `Exceptions` lists found anywhere below `value`.
fn nested(value: &Value, out: &mut Vec<ExceptionDefinition>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "Exceptions" {
                    if let Ok(list) = serde_json::from_value::<Vec<ExceptionDefinition>>(v.clone())
                    {
                        out.extend(list);
                    }
                } else {
                    nested(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| nested(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> ExceptionRecord {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn sequence_numbers_become_zero_based_indexes() {
        let r = record(json!({"SequenceNumber": 4, "Exceptions": [
            {"Code": "EmailAddressInvalid", "Message": "x does not match"},
            {"Code": "MultipleDefaultEmails", "Message": "one default"}]}));
        let reject = to_reject(r).unwrap();
        assert_eq!(reject.at, RejectAt::Index(3));
        assert_eq!(reject.code, "EmailAddressInvalid");
        assert_eq!(reject.reason, "x does not match; one default");
    }

    #[test]
    fn element_exceptions_are_used_when_the_record_has_none() {
        let r = record(json!({"SequenceNumber": 1, "Exceptions": [],
            "Emails": [{"EmailAddress": "x", "Exceptions": [{"Code": "Bad", "Message": "bad email"}]}]}));
        let reject = to_reject(r).unwrap();
        assert_eq!(
            (reject.code.as_str(), reject.reason.as_str()),
            ("Bad", "bad email")
        );
        assert!(to_reject(record(json!({"Exceptions": []}))).is_err());
    }
}
