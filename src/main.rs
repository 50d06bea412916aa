//! The `kontor` binary.

mod cli;

use clap::Parser;

/// mimalloc instead of glibc's malloc: a sync allocates each row's values on the reading
/// thread and frees them on the mapping thread, which glibc serialises on its arenas (a
/// quarter of the mapping thread's time in `malloc`/`free`, measured with `perf`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of the mimalloc (v3) that `libmimalloc-sys` bundles (its crate
/// exports only the v2 numbering; the version is pinned in Cargo.toml, the test below fails
/// if the number means another option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// What SQLite may keep in memory during `kontor sync` (its page caches beyond it are
/// recycled, not grown).
const SYNC_SQLITE_HEAP: u64 = 8 << 20;

/// `kontor sync` runs in bounded memory (issue 17: under 64 MiB for any file): SQLite's page
/// caches share [`SYNC_SQLITE_HEAP`] instead of 12 MB per connection, and glibc's malloc,
/// which only SQLite uses here, keeps one arena instead of one per SQLite worker thread that
/// each held on to what its statements freed. Measured on the first sync of a 1M-row
/// journal into SQLite: peak RSS 99 → 52 MB (16 MiB: 61 MB), in the same time. Not for
/// `serve`: its readers keep whole caches and arenas of their own.
fn bounded_memory() {
    kontor::store::bound_sqlite_heap(SYNC_SQLITE_HEAP);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: a setting of glibc's malloc, changed before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn main() {
    // Output piped into `head` ends quietly instead of failing on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Memory is given back as it was promised: freed memory goes back to the OS at once
    // rather than a second later (mimalloc's `mi_option_purge_delay`), and
    // no transparent huge pages (`PR_SET_THP_DISABLE`; mimalloc asks for them, and one
    // touched byte then makes 2 MiB resident). Measured: a sync's peak RSS 70 → 57 MiB.
    // SAFETY: an option of the linked allocator and a flag of this process, set before any
    // thread starts.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let args = cli::Cli::parse();
    if matches!(args.command, cli::Command::Sync(_)) {
        bounded_memory();
    }
    cli::init_logging(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(cli::main(args));
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    /// Option 15 is the purge delay: the bundled mimalloc's default for it is 1000 ms, which
    /// no other of its options has.
    #[test]
    fn the_option_set_at_start_is_the_purge_delay() {
        // SAFETY: reads an option of the linked allocator.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
