//! State: what was applied, per job (record hashes, rendered spec, journal, lock).
