//! The process's file-descriptor limit: every websocket and HTTP connection
//! holds one, and Linux's usual soft limit (1024) is far below what the
//! server can hold in memory (15,000 idle peers fit in ~120 MiB).
//!
//! [`raise_fd_limit`] lifts the soft limit to the hard one, as servers and
//! `ulimit -n $(ulimit -Hn)` do; the binary calls it at start and warns when
//! `--max-connections` is still above what the limit leaves. Past the limit
//! the kernel refuses `accept` (EMFILE): the accept loop backs off and
//! retries, so nothing breaks, but newcomers wait.

/// Descriptors the process needs besides connections (listener, runtime,
/// logs, the binary's own files).
pub const RESERVED_FDS: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft
/// limit now in force (`None` when unlimited or unknown, e.g. off Unix).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let now = getrlimit(Resource::Nofile);
        if now.current != now.maximum {
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: now.maximum,
                    maximum: now.maximum,
                },
            );
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Connections the descriptor limit `soft` leaves room for.
pub fn connections_within(soft: u64) -> u64 {
    soft.saturating_sub(RESERVED_FDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_never_lowers_the_limit() {
        #[cfg(unix)]
        {
            let before = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
            let after = raise_fd_limit();
            match (before, after) {
                (Some(b), Some(a)) => assert!(a >= b, "{a} < {b}"),
                (_, None) => {}
                (None, Some(a)) => panic!("unlimited became {a}"),
            }
        }
        assert_eq!(connections_within(1024), 960);
        assert_eq!(connections_within(10), 0);
    }
}
