//! Every PostgreSQL connection of the store sends without Nagle's algorithm (`TCP_NODELAY`):
//! the pool's and the run lock's own connection. Without it, over TLS (`sslmode` prefer,
//! the default) each connection's handshake and each of the run lock's statements waited for
//! the server's delayed ACK — an unchanged re-sync took 0.37 s instead of 0.10 s.

use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;

/// `TCP_NODELAY` of the TCP sockets of this process whose local port is one of `ports`
/// (other tests of this process have connections of their own).
fn nodelay_of(ports: &[u16]) -> Vec<(u16, bool)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::c_int>().ok())
        else {
            continue;
        };
        // SAFETY: getsockname and getsockopt write at most the given lengths into these
        // buffers and fail harmlessly on descriptors that are not sockets (or were closed and
        // reused by another test in between: then the port does not match or the call fails).
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &mut len) } != 0 {
            continue;
        }
        let local = match i32::from(addr.ss_family) {
            libc::AF_INET => {
                u16::from_be(unsafe { (*(&raw const addr).cast::<libc::sockaddr_in>()).sin_port })
            }
            libc::AF_INET6 => {
                u16::from_be(unsafe { (*(&raw const addr).cast::<libc::sockaddr_in6>()).sin6_port })
            }
            _ => continue,
        };
        if !ports.contains(&local) {
            continue;
        }
        let mut on: libc::c_int = 0;
        let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let ok = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&raw mut on).cast(),
                &mut size,
            )
        };
        if ok == 0 {
            out.push((local, on != 0));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_postgres_connection_sends_without_delay() {
    let (store, g) = kontor::testing::temp_store("postgres").await.unwrap();
    if PgConnectOptions::from_str(g.url())
        .unwrap()
        .get_host()
        .starts_with('/')
    {
        eprintln!("KONTOR_TEST_PG_URL is a Unix socket: no TCP to check");
        return;
    }
    // The run lock opens a connection of its own, outside the pool.
    let lock = store
        .try_lock_run("nagle")
        .await
        .unwrap()
        .expect("nobody holds the lock");
    // The client ports of this test's connections (its database is its own), as the server
    // sees them — asked over one more connection, which is checked too.
    let mut probe = sqlx::PgConnection::connect(g.url()).await.unwrap();
    let ports: Vec<i32> = sqlx::query_scalar(
        "SELECT client_port FROM pg_stat_activity \
         WHERE datname = current_database() AND client_port > 0",
    )
    .fetch_all(&mut probe)
    .await
    .unwrap();
    let ports: Vec<u16> = ports.into_iter().map(|p| p as u16).collect();
    let sockets = nodelay_of(&ports);
    assert!(
        sockets.len() >= 3,
        "the pool's, the lock's and the probe's: {sockets:?} of {ports:?}"
    );
    assert!(sockets.iter().all(|&(_, on)| on), "{sockets:?}");
    drop(lock);
}
