//! The subscription ack (`notify`): a datagram to a unix socket the sender names, sent only
//! when that socket is the sender's own. The socket is opened and checked as a descriptor
//! ([`crate::subscription::sender_path`]) and the ack is sent through that descriptor's `/proc` name, so
//! a link or directory swapped after the check cannot redirect it.

use rustix::fs::FileType;

use crate::subscription::pem_source::Sender;
use crate::subscription::sender_path::{open_as_sender, SenderPathError};

/// Why an ack was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Acks go only to unix-socket senders with known credentials.
    #[error("acks are sent only to senders on the unix socket")]
    NotUnix,
    /// The path is not a socket of the sender's.
    #[error(transparent)]
    Path(#[from] SenderPathError),
    /// Sending failed (nobody reads the socket, or its queue is full).
    #[error("cannot send the ack: {0}")]
    Send(#[from] std::io::Error),
}

/// Send `message` to the socket at `path` if it belongs to `sender` (any socket for root).
/// Blocking path resolution: call it off the paths that apply subscriptions.
pub fn send_ack(path: &str, sender: Sender, message: &str) -> Result<(), NotifyError> {
    let Sender::Unix { uid: Some(uid) } = sender else {
        return Err(NotifyError::NotUnix);
    };
    let socket = open_as_sender(path, uid, FileType::Socket)?;
    let out = std::os::unix::net::UnixDatagram::unbound()?;
    out.set_nonblocking(true)?;
    out.send_to(message.as_bytes(), socket.proc_path())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_reach_the_senders_socket_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ack.sock");
        let inbox = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        inbox.set_nonblocking(true).expect("nonblocking");
        let p = path.to_str().expect("utf8");
        let me = nix::unistd::getuid().as_raw();
        send_ack(p, Sender::Unix { uid: Some(me) }, "hello").expect("sent");
        let mut buf = [0u8; 16];
        let n = inbox.recv(&mut buf).expect("ack arrived");
        assert_eq!(&buf[..n], b"hello");
        let stranger = if me == 12345 { 12346 } else { 12345 };
        assert!(send_ack(
            p,
            Sender::Unix {
                uid: Some(stranger)
            },
            "x"
        )
        .is_err());
        assert!(send_ack(p, Sender::Udp(([127, 0, 0, 1], 1).into()), "x").is_err());
        assert!(inbox.recv(&mut buf).is_err(), "nothing else arrived");
    }
}
