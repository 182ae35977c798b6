//! Terminal colors, applied only when the output has color enabled.

/// A color for a piece of text.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Add,
    Change,
    Remove,
    Warn,
    Bold,
    Dim,
}

/// `text` in `tone` when `color` is on.
pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match tone {
        Tone::Add => "32",
        Tone::Change => "33",
        Tone::Remove => "31",
        Tone::Warn => "1;33",
        Tone::Bold => "1",
        Tone::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
