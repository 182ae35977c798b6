//! Eloqua's notion of time: timestamps as ISO-8601 UTC with seven fractional digits
//! (`2024-03-05T10:11:12.1234567Z`) and ISO-8601 durations (`PT1H`, `P7D`).
//!
//! Instants are kept as nanoseconds since the Unix epoch so the store can serialize them. This
//! module never reads the clock: the store owns the clock (and its test offset).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch.
pub type Nanos = u64;

/// Converts a system time to nanoseconds since the epoch (0 before the epoch).
pub fn to_nanos(t: SystemTime) -> Nanos {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Formats an instant the way Eloqua does: `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
pub fn format_timestamp(t: Nanos) -> String {
    let secs = t / 1_000_000_000;
    let ticks = (t % 1_000_000_000) / 100;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Parses an ISO-8601 duration (`P[nY][nM][nW][nD][T[nH][nM][nS]]`). Years count 365 days and
/// months 30: Eloqua's documented ranges (`PT1H`..`P14D`) never need calendar arithmetic.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let upper = text.trim().to_ascii_uppercase();
    let body = upper.strip_prefix('P')?;
    if body.is_empty() {
        return None;
    }
    let (date, time) = match body.split_once('T') {
        Some((_, "")) => return None,
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let mut secs = sum_units(
        date,
        &[
            ('Y', 365 * 86_400),
            ('M', 30 * 86_400),
            ('W', 7 * 86_400),
            ('D', 86_400),
        ],
    )?;
    if let Some(time) = time {
        secs = secs.checked_add(sum_units(time, &[('H', 3600), ('M', 60), ('S', 1)])?)?;
    }
    Some(Duration::from_secs(secs))
}

/// Adds up `<number><unit>` groups; units must appear in the given order, each at most once.
fn sum_units(text: &str, units: &[(char, u64)]) -> Option<u64> {
    let mut total: u64 = 0;
    let mut next_unit = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let pos = units[next_unit..].iter().position(|(u, _)| *u == c)? + next_unit;
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(units[pos].1)?)?;
        digits.clear();
        next_unit = pos + 1;
    }
    if digits.is_empty() { Some(total) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_seven_fractional_digits() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.0000000Z");
        // 2024-03-05T10:11:12.1234567Z
        let t = 1_709_633_472_123_456_700;
        assert_eq!(format_timestamp(t), "2024-03-05T10:11:12.1234567Z");
    }

    #[test]
    fn durations_parse_and_reject_garbage() {
        assert_eq!(parse_duration("PT1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("P7D"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(
            parse_duration("P1DT12H30M"),
            Some(Duration::from_secs(86_400 + 12 * 3600 + 1800))
        );
        assert_eq!(
            parse_duration("P2W"),
            Some(Duration::from_secs(14 * 86_400))
        );
        for bad in ["", "P", "PT", "7D", "P7", "PH1", "P1D1D", "PT1H1D", "P-1D"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
