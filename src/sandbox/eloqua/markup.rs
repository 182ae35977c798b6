//! Eloqua markup statements used as the values of a definition's `fields` and as sync-action
//! destinations: `{{Contact.Field(C_EmailAddress)}}`, `{{Opportunity.Id}}`,
//! `{{Opportunity.Contact.Field(C_EmailAddress)}}`, `{{ContactList[123]}}`, ...
//!
//! Parsing only; whether a statement fits a definition type is decided by validation.

/// What a field statement refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    ContactId,
    ContactField(String),
    OpportunityId,
    OpportunityField(String),
    /// The contact side of a linkage row.
    LinkedContactId,
    LinkedContactField(String),
    /// The account side of a linkage row.
    LinkedAccountId,
    LinkedAccountField(String),
}

/// Parses a field statement; `None` when it is not one Eloqua's imports accept.
pub fn parse(statement: &str) -> Option<Statement> {
    let inner = statement
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    let field = |rest: &str| -> Option<String> {
        let name = rest.strip_prefix("Field(")?.strip_suffix(')')?.trim();
        (!name.is_empty()).then(|| name.to_string())
    };
    if let Some(rest) = inner.strip_prefix("Opportunity.Contact.") {
        return if rest == "Id" {
            Some(Statement::LinkedContactId)
        } else {
            field(rest).map(Statement::LinkedContactField)
        };
    }
    if let Some(rest) = inner.strip_prefix("Opportunity.Account.") {
        return if rest == "Id" {
            Some(Statement::LinkedAccountId)
        } else {
            field(rest).map(Statement::LinkedAccountField)
        };
    }
    if let Some(rest) = inner.strip_prefix("Opportunity.") {
        return if rest == "Id" {
            Some(Statement::OpportunityId)
        } else {
            field(rest).map(Statement::OpportunityField)
        };
    }
    if let Some(rest) = inner.strip_prefix("Contact.") {
        return if rest == "Id" {
            Some(Statement::ContactId)
        } else {
            field(rest).map(Statement::ContactField)
        };
    }
    None
}

/// Whether a sync-action destination is well formed: `{{ContactList[id]}}`,
/// `{{EmailGroup[id]}}`, `{{GlobalSubscribe}}`, `{{ContactSegment[id]}}`...
pub fn is_destination(destination: &str) -> bool {
    let Some(inner) = destination
        .trim()
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
    else {
        return false;
    };
    if inner == "GlobalSubscribe" {
        return true;
    }
    match inner.split_once('[') {
        Some((name, rest)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric())
                && rest.strip_suffix(']').is_some_and(|id| !id.is_empty())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_parse() {
        assert_eq!(parse("{{Opportunity.Id}}"), Some(Statement::OpportunityId));
        assert_eq!(
            parse("{{Opportunity.Contact.Field(C_EmailAddress)}}"),
            Some(Statement::LinkedContactField("C_EmailAddress".into()))
        );
        assert_eq!(
            parse("{{Contact.Field(C_FirstName)}}"),
            Some(Statement::ContactField("C_FirstName".into()))
        );
        assert_eq!(
            parse("{{Opportunity.Account.Id}}"),
            Some(Statement::LinkedAccountId)
        );
        assert_eq!(parse("C_EmailAddress"), None);
        assert_eq!(parse("{{Contact.Field()}}"), None);
        assert!(is_destination("{{ContactList[4711]}}"));
        assert!(is_destination("{{GlobalSubscribe}}"));
        assert!(!is_destination("ContactList[4711]"));
    }
}
