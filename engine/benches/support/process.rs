//! The process a bench measures in: as the binary runs, which turns transparent huge pages off
//! first thing (`engine/cli/src/main.rs`, `no_huge_pages`). Without it, mimalloc's arenas are
//! backed by huge pages that the kernel zeroes 2 MiB at a time each time freed memory is touched
//! again: 17% of the CloudTrail ingest bench's samples (2026-12-04), a cost the binary does not
//! pay.

/// Makes this process run as the binary does; a failure (an old kernel) leaves it as it was.
pub fn as_the_binary() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}
