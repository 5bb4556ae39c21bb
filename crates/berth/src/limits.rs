//! Process limits: the open file limit, raised once at start, and the connection cap of the
//! API derived from it.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// File descriptors kept for everything but client connections: the store's pool, logs,
/// DNS and LDAP sockets, the node's and the router's files.
const RESERVED_FDS: u64 = 128;
/// The smallest connection cap derived.
const MIN_CONNECTIONS: u64 = 64;
/// The kernel's ceiling for the open file limit.
const NR_OPEN: &str = "/proc/sys/fs/nr_open";

/// Raises the soft limit on open files (RLIMIT_NOFILE) to the hard limit (or the kernel's
/// ceiling, when the hard limit is unlimited), says so in the log, and answers the soft
/// limit in force. Called once at start, for every subcommand: 1 024 descriptors are gone
/// with as many silent clients.
pub fn raise_nofile_limit() -> u64 {
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open file limit");
            return 1024;
        }
    };
    let ceiling = std::fs::read_to_string(NR_OPEN)
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or(hard);
    let wanted = hard.min(ceiling);
    if soft >= wanted {
        tracing::info!(limit = soft, "open file limit");
        return soft;
    }
    match setrlimit(Resource::RLIMIT_NOFILE, wanted, hard) {
        Ok(()) => {
            tracing::info!(from = soft, to = wanted, "raised the open file limit");
            wanted
        }
        Err(error) => {
            tracing::warn!(limit = soft, %error, "cannot raise the open file limit");
            soft
        }
    }
}

/// The open file limit in force now.
pub fn nofile_limit() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

/// The API's connection cap when none is given: the open file limit less what the process
/// needs for itself, shared by `shares` servers in the process (`berth up` runs the router
/// beside the API).
pub fn default_max_connections(nofile: u64, shares: u64) -> usize {
    let usable = nofile.saturating_sub(RESERVED_FDS) / shares.max(1);
    usize::try_from(usable.max(MIN_CONNECTIONS)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_process() {
        assert_eq!(default_max_connections(1024, 1), 896);
        assert_eq!(default_max_connections(1024, 2), 448);
        assert_eq!(default_max_connections(100, 1), 64);
        assert_eq!(default_max_connections(1 << 20, 1), (1 << 20) - 128);
    }
}
