//! Where a YAML syntax error really starts (an unclosed quote or bracket is reported by the
//! scanner at the end of the file) and what to tell the user about it.

/// The offset of the quote that is still open at `end`, scanning the text line by line.
pub(super) fn unclosed_quote_start(text: &str, end: usize) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut chars = text.get(..end.min(text.len()))?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match open {
            None if c == '#' => {
                // Skip comments so an apostrophe in them does not count.
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            None if c == '"' || c == '\'' => open = Some((i, c)),
            Some((_, '"')) if c == '\\' => {
                chars.next();
            }
            Some((_, '\'')) if c == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            Some((_, q)) if c == q => open = None,
            _ => {}
        }
    }
    open.map(|(i, _)| i)
}

/// The offset of the last `[` or `{` still open at `end`, outside quotes and comments.
pub(super) fn unclosed_bracket_start(text: &str, end: usize) -> Option<usize> {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = text.get(..end.min(text.len()))?.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            (None, '[' | '{') => stack.push(i),
            (None, ']' | '}') => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

pub(super) fn syntax_hint(info: &str, text: &str, offset: usize) -> Option<String> {
    let line_start = text
        .get(..offset)
        .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
    let line = text
        .get(line_start..)
        .and_then(|t| t.lines().next())
        .unwrap_or("");
    if line.starts_with('\t') || info.contains("tab") {
        return Some("YAML indentation must use spaces, not tabs".into());
    }
    if info.contains("quoted scalar") {
        return Some("close the quote on this value".into());
    }
    if info.contains("flow sequence") {
        return Some(
            "close this list with `]` (or write it as a block list with `- ` items)".into(),
        );
    }
    if info.contains("flow mapping") {
        return Some(
            "close this mapping with `}`; a template must be quoted: \"{{ ... }}\"".into(),
        );
    }
    if info.contains("mapping values are not allowed") {
        return Some("a value containing `: ` must be quoted, or the indentation is off".into());
    }
    if info.contains("did not find expected key") || info.contains("block") {
        return Some("check the indentation of this line against its siblings".into());
    }
    None
}
