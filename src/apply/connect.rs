//! Resolving a job connection to a provider client (wired when the clients land).
