//! Time on the emulator's virtual clock: Unix seconds, ISO-8601 formatting and parsing.
//!
//! The virtual clock is the sandbox clock plus an offset that tests move forward
//! (`POST /_sandbox/mypreferences/clock`), so six-hour token expiry and day-long staging
//! retention can be exercised in milliseconds. No state lives here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 9999-12-31T23:59:59Z, the last instant ISO-8601 without extension can write.
const LATEST: u64 = 253_402_300_799;

/// Seconds since the Unix epoch of `time` (0 before the epoch).
pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, the form of the notes' `Expires` example (no offset shown).
pub fn format_iso(secs: u64) -> String {
    // Clamped to the last second of year 9999: lifetimes and clock moves come from users.
    let secs = secs.min(LATEST);
    let text = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs));
    text.to_string().trim_end_matches('Z').to_owned()
}

/// Parses an ISO-8601 date-time: `YYYY-MM-DDTHH:MM:SS[.fff]` with `Z`, `±HH:MM` or no
/// offset (read as UTC). Returns Unix seconds.
pub fn parse_iso(text: &str) -> Option<u64> {
    let text = text.trim();
    let (base, offset_secs) = split_offset(text)?;
    let time = humantime::parse_rfc3339_weak(base).ok()?;
    let secs = i64::try_from(unix_secs(time)).ok()? - offset_secs;
    u64::try_from(secs).ok()
}

/// Splits a trailing `Z` or `±HH:MM` offset from the date-time part.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(base) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((base, 0));
    }
    // An offset sign can only appear after the time part ("T..."), not in the date.
    let time_start = text.find(['T', 't', ' '])?;
    let Some(pos) = text[time_start..].rfind(['+', '-']).map(|p| p + time_start) else {
        return Some((text, 0));
    };
    let (base, offset) = text.split_at(pos);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some((base, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_without_offset_and_parses_back() {
        assert_eq!(format_iso(1_709_654_400), "2024-03-05T16:00:00");
        assert_eq!(parse_iso("2024-03-05T16:00:00"), Some(1_709_654_400));
        assert_eq!(parse_iso("2024-03-05T16:00:00Z"), Some(1_709_654_400));
        assert_eq!(parse_iso("2024-03-05T18:00:00+02:00"), Some(1_709_654_400));
        assert_eq!(
            parse_iso("2024-03-05T15:00:00.250-01:00"),
            Some(1_709_654_400)
        );
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(format_iso(u64::MAX), "9999-12-31T23:59:59");
        assert_eq!(parse_iso("2024-13-05T16:00:00"), None);
    }
}
