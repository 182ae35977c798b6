//! Two pieces of work at once: the emulator's batch operations (parsing an upload, looking up
//! and inserting its emails) split their input in two above a size and run both halves
//! together. Nothing here knows what the work is.

/// Runs `a` on this thread and `b` on a second one, at the same time; their results in that
/// order. A panic in `b` is passed on (none of the callers' work panics short of running out
/// of memory).
pub fn both<A, B: Send>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let second = scope.spawn(b);
        let first = a();
        match second.join() {
            Ok(second) => (first, second),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
