//! Reading the PEM a subscription names (`sni_key`, `sni_crt`, `sni_ca`): inline PEM, or a
//! regular file the sender itself owns, opened without following links the sender could
//! swap and without ever blocking (see [`crate::subscription::sender_path`]).

use std::io::Read;

use rustix::fs::{FileType, Mode, OFlags};

use crate::subscription::sender_path::{open_as_sender, SenderPathError};

/// Largest PEM file the router reads.
pub const MAX_PEM_BYTES: u64 = 1 << 20;

/// Who sent a subscription, as far as the transport tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A UDP datagram: anyone who can reach the port.
    Udp(std::net::SocketAddr),
    /// A unix datagram with the kernel-attested credentials of the sending process.
    Unix {
        /// Sender's uid, if the kernel passed credentials.
        uid: Option<u32>,
    },
}

/// Why a PEM could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PemSourceError {
    /// A file path came over UDP, whose sender cannot be known.
    #[error("a file path was named by a UDP subscription; only inline PEM is accepted over UDP")]
    PathOverUdp,
    /// A unix datagram without credentials.
    #[error("the sender's credentials are unknown")]
    NoCredentials,
    /// The path is not a regular file of the sender's (or goes through a link).
    #[error(transparent)]
    Path(#[from] SenderPathError),
    /// The file is too large to be a PEM.
    #[error("{0} is larger than 1 MiB")]
    TooLarge(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The PEM bytes of a subscription value: the value itself when it is inline PEM, else the
/// contents of the regular file it names, read only when the sender is root or owns the
/// file, and at most [`MAX_PEM_BYTES`]. Blocking file I/O: call it off the paths that apply
/// subscriptions and serve requests.
pub fn read_pem(value: &str, sender: Sender) -> Result<Vec<u8>, PemSourceError> {
    if value.trim_start().starts_with("-----BEGIN ") {
        return Ok(value.as_bytes().to_vec());
    }
    let uid = match sender {
        Sender::Udp(_) => return Err(PemSourceError::PathOverUdp),
        Sender::Unix { uid: None } => return Err(PemSourceError::NoCredentials),
        Sender::Unix { uid: Some(uid) } => uid,
    };
    let checked = open_as_sender(value, uid, FileType::RegularFile)?;
    if u64::try_from(checked.stat.st_size).unwrap_or(u64::MAX) > MAX_PEM_BYTES {
        return Err(PemSourceError::TooLarge(value.to_owned()));
    }
    let io = |source: std::io::Error| PemSourceError::Io {
        path: value.to_owned(),
        source,
    };
    // The very file checked, reopened for reading through its descriptor.
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = rustix::fs::open(checked.proc_path(), flags, Mode::empty())
        .map(std::fs::File::from)
        .map_err(|e| io(e.into()))?;
    let mut pem = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(io)?;
    if pem.len() as u64 > MAX_PEM_BYTES {
        return Err(PemSourceError::TooLarge(value.to_owned()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_pem_needs_no_file() {
        let v = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let udp = Sender::Udp(([127, 0, 0, 1], 1).into());
        assert_eq!(read_pem(v, udp).expect("inline").len(), v.len());
    }

    #[test]
    fn paths_need_an_owner_a_regular_file_and_a_bounded_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "x").expect("write");
        let p = path.to_str().expect("utf8");
        let me = nix::unistd::getuid().as_raw();
        assert!(matches!(
            read_pem(p, Sender::Udp(([127, 0, 0, 1], 1).into())),
            Err(PemSourceError::PathOverUdp)
        ));
        assert!(matches!(
            read_pem(p, Sender::Unix { uid: None }),
            Err(PemSourceError::NoCredentials)
        ));
        assert_eq!(
            read_pem(p, Sender::Unix { uid: Some(me) }).expect("own file"),
            b"x"
        );
        let stranger = if me == 12345 { 12346 } else { 12345 };
        assert!(matches!(
            read_pem(
                p,
                Sender::Unix {
                    uid: Some(stranger)
                }
            ),
            Err(PemSourceError::Path(SenderPathError::NotOwner { .. }))
        ));
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'x'; (MAX_PEM_BYTES + 1) as usize]).expect("write");
        assert!(matches!(
            read_pem(big.to_str().expect("utf8"), Sender::Unix { uid: Some(me) }),
            Err(PemSourceError::TooLarge(_))
        ));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        assert!(matches!(
            read_pem(fifo.to_str().expect("utf8"), Sender::Unix { uid: Some(me) }),
            Err(PemSourceError::Path(SenderPathError::WrongType { .. }))
        ));
    }
}
