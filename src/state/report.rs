//! Rejected rows as CSV for `bulkspec report JOB`. Writes to a given writer, never prints.
use std::io::Write;

use super::types::Reject;

/// Writes `line,key,code,reason` with a header row.
pub fn write_rejects_csv<W: Write>(rejects: &[Reject], out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["line", "key", "code", "reason"])?;
    for r in rejects {
        w.write_record([r.line.to_string().as_str(), &r.key, &r.code, &r.reason])?;
    }
    w.flush()?;
    Ok(())
}
