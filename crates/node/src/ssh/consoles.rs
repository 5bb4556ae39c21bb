//! The terminals of the open interactive ssh sessions, by container: where the node writes a
//! container's system alarms, as uwsgi.it's console broadcast wrote them to the container's
//! terminals.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rustix::fs::{Mode, OFlags};

/// The open terminals, shared by the ssh sessions (which register theirs) and the runtime
/// (which broadcasts).
#[derive(Debug, Clone, Default)]
pub struct Consoles {
    inner: Arc<Mutex<Terminals>>,
}

#[derive(Debug, Default)]
struct Terminals {
    next: u64,
    by_uid: HashMap<u32, Vec<(u64, PathBuf)>>,
}

/// One registered terminal; dropping it unregisters it.
#[derive(Debug)]
pub(crate) struct Console {
    consoles: Consoles,
    uid: u32,
    id: u64,
}

impl Consoles {
    fn terminals(&self) -> std::sync::MutexGuard<'_, Terminals> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers the terminal at `path` (the session's pty slave on the host) as one of
    /// `uid`'s, until the returned guard is dropped.
    pub(crate) fn register(&self, uid: u32, path: PathBuf) -> Console {
        let mut terminals = self.terminals();
        terminals.next += 1;
        let id = terminals.next;
        terminals.by_uid.entry(uid).or_default().push((id, path));
        Console {
            consoles: self.clone(),
            uid,
            id,
        }
    }

    /// Writes `message` on a line of its own to every open terminal of `uid`, without ever
    /// waiting: a terminal that cannot take it now misses it. Returns how many took it.
    pub fn broadcast(&self, uid: u32, message: &str) -> usize {
        let paths: Vec<PathBuf> = self
            .terminals()
            .by_uid
            .get(&uid)
            .map(|open| open.iter().map(|(_, path)| path.clone()).collect())
            .unwrap_or_default();
        let line = format!("\r\n*** berth: {message} ***\r\n");
        paths
            .iter()
            .filter(|path| {
                let flags = OFlags::WRONLY | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC;
                rustix::fs::open(path.as_path(), flags, Mode::empty())
                    .and_then(|fd| rustix::io::write(&fd, line.as_bytes()))
                    .is_ok_and(|written| written == line.len())
            })
            .count()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let mut terminals = self.consoles.terminals();
        if let Some(open) = terminals.by_uid.get_mut(&self.uid) {
            open.retain(|(id, _)| *id != self.id);
            if open.is_empty() {
                terminals.by_uid.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pty::{PtyMaster, WindowSize};
    use super::*;

    #[tokio::test]
    async fn an_alarm_reaches_the_containers_terminals_and_no_others() {
        let consoles = Consoles::default();
        let size = WindowSize {
            cols: 80,
            rows: 24,
            width: 0,
            height: 0,
        };
        let (master, _slave, path) = PtyMaster::open(size).expect("pty");
        let console = consoles.register(30001, path);
        assert_eq!(consoles.broadcast(30002, "not yours"), 0);
        assert_eq!(
            consoles.broadcast(30001, "container 30001: OUT OF MEMORY"),
            1
        );
        let mut buf = [0u8; 256];
        let n = master.read_now(&mut buf).expect("the terminal shows it");
        let shown = String::from_utf8_lossy(&buf[..n]);
        assert!(
            shown.contains("*** berth: container 30001: OUT OF MEMORY ***"),
            "{shown}"
        );
        drop(console);
        assert_eq!(consoles.broadcast(30001, "gone"), 0);
    }
}
