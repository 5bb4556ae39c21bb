//! Reading the PEM a subscription names (`sni_key`, `sni_crt`, `sni_ca`): inline PEM, or a
//! file the sender itself could read.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Largest PEM file the router reads.
const MAX_PEM_BYTES: u64 = 1 << 20;

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
    /// The file belongs to another user.
    #[error("{path} is owned by uid {owner}, not by the sender (uid {sender})")]
    NotOwner {
        /// The file.
        path: String,
        /// Its owner.
        owner: u32,
        /// The sender.
        sender: u32,
    },
    /// The file is too large to be a PEM.
    #[error("{0} is larger than 1 MiB")]
    TooLarge(String),
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The PEM bytes of a subscription value: the value itself when it is inline PEM, else the
/// contents of the file it names, read only when the sender is root or owns the file. The
/// ownership is checked on the opened file, so a swapped symlink cannot slip past it.
pub fn read_pem(value: &str, sender: Sender) -> Result<Vec<u8>, PemSourceError> {
    if value.trim_start().starts_with("-----BEGIN ") {
        return Ok(value.as_bytes().to_vec());
    }
    let uid = match sender {
        Sender::Udp(_) => return Err(PemSourceError::PathOverUdp),
        Sender::Unix { uid: None } => return Err(PemSourceError::NoCredentials),
        Sender::Unix { uid: Some(uid) } => uid,
    };
    let io = |source| PemSourceError::Io {
        path: value.to_owned(),
        source,
    };
    let file = std::fs::File::open(Path::new(value)).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if uid != 0 && meta.uid() != uid {
        return Err(PemSourceError::NotOwner {
            path: value.to_owned(),
            owner: meta.uid(),
            sender: uid,
        });
    }
    if meta.len() > MAX_PEM_BYTES {
        return Err(PemSourceError::TooLarge(value.to_owned()));
    }
    let mut pem = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_PEM_BYTES).read_to_end(&mut pem).map_err(io)?;
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
    fn paths_need_an_owner() {
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
            Err(PemSourceError::NotOwner { .. })
        ));
    }
}
