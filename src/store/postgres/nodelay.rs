//! TCP_NODELAY for the store's PostgreSQL sockets.
//!
//! sqlx 0.9 opens its tokio TCP sockets without `TCP_NODELAY`. With Nagle's algorithm on, a
//! statement whose messages leave in several writes (a large Bind, then Execute/Sync) waits
//! for the server's delayed ACK: about 40 ms per statement, measured as 45 ms per 100-record
//! upsert instead of 3 ms. After each new connection this sets the option on every TCP socket
//! of the process that is connected to the database's port (sockets of other programs are
//! not reachable; setting it on a second pool's socket is harmless).

#[cfg(target_os = "linux")]
pub(super) fn set_on_sockets_to(port: u16) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::c_int>().ok())
        else {
            continue;
        };
        // SAFETY: an all-zero sockaddr_storage is valid; getpeername writes at most `len`
        // bytes into it and fails harmlessly on descriptors that are not connected sockets.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let ok = unsafe {
            libc::getpeername(fd, (&raw mut addr).cast::<libc::sockaddr>(), &mut len) == 0
        };
        if !ok {
            continue;
        }
        let peer_port = match i32::from(addr.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says this is a sockaddr_in.
                let a = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in>() };
                u16::from_be(a.sin_port)
            }
            libc::AF_INET6 => {
                // SAFETY: the family says this is a sockaddr_in6.
                let a = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in6>() };
                u16::from_be(a.sin6_port)
            }
            _ => continue,
        };
        if peer_port == port {
            let one: libc::c_int = 1;
            // SAFETY: fd is an open TCP socket; the option value is a c_int of the given size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_TCP,
                    libc::TCP_NODELAY,
                    (&raw const one).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn set_on_sockets_to(_port: u16) {}
