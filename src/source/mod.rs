//! Source readers: stream rows out of CSV, TSV, SSV and JSON Lines files.
