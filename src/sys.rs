//! Process-level helpers.

/// Gives freed heap memory back to the operating system (glibc keeps it otherwise): called
/// after building large transient structures (the directory, a resolution) so that a long-
/// running server's resident memory reflects what it keeps, not its peak.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; no pointers change.
    unsafe {
        libc::malloc_trim(0);
    }
}
