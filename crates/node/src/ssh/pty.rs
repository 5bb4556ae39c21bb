//! A pseudo-terminal pair on the host for interactive sessions. runc gets the slave as its
//! stdin, stdout and stderr and, started with `--tty`, proxies it into a terminal of its own
//! inside the container; the ssh channel is copied to and from the master.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::{OutputModes, Winsize};
use tokio::io::unix::AsyncFd;

/// A terminal's size as the client announces it (`pty-req`, `window-change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowSize {
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
    /// Width in pixels (0 when unknown).
    pub width: u32,
    /// Height in pixels (0 when unknown).
    pub height: u32,
}

impl WindowSize {
    fn winsize(self) -> Winsize {
        let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        Winsize {
            ws_row: clamp(self.rows),
            ws_col: clamp(self.cols),
            ws_xpixel: clamp(self.width),
            ws_ypixel: clamp(self.height),
        }
    }
}

/// The master side of a pty, non-blocking, driven by tokio.
#[derive(Debug)]
pub(crate) struct PtyMaster(AsyncFd<OwnedFd>);

impl PtyMaster {
    /// Open a pty pair of `size`: the master, the slave to give to the child process, and
    /// the slave's path. Neither becomes this process's controlling terminal.
    pub fn open(size: WindowSize) -> io::Result<(PtyMaster, OwnedFd, PathBuf)> {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        let name = rustix::pty::ptsname(&master, Vec::new())?;
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // From the start what runc makes of it: raw, except that output turns "\n" into
        // "\r\n" (runc turns that off in its terminal inside, and on in this one). Cooked,
        // this one would echo what the client types ahead before runc takes over; fully raw,
        // what the session writes before runc takes over would lack its "\r".
        let mut termios = rustix::termios::tcgetattr(&slave)?;
        termios.make_raw();
        termios.output_modes |= OutputModes::OPOST | OutputModes::ONLCR;
        rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &termios)?;
        rustix::termios::tcsetwinsize(&master, size.winsize())?;
        rustix::io::ioctl_fionbio(&master, true)?;
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
        Ok((PtyMaster(register(master)?), slave, path))
    }

    /// Set the terminal's size (the kernel then signals the terminal's foreground group).
    pub fn resize(&self, size: WindowSize) -> io::Result<()> {
        Ok(rustix::termios::tcsetwinsize(
            self.0.get_ref(),
            size.winsize(),
        )?)
    }

    /// Read what the slave side wrote; waits until something is there.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.0.readable().await?;
            match guard.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut *buf)?)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Read what is already there without waiting: `Ok(0)` when nothing is.
    pub fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        match rustix::io::read(self.0.get_ref(), buf) {
            Ok(n) => Ok(n),
            Err(rustix::io::Errno::AGAIN) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Write all of `data`, as typed on the terminal.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.0.writable().await?;
            match guard.try_io(|fd| Ok(rustix::io::write(fd.get_ref(), data)?)) {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => data = data.get(n..).unwrap_or_default(),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

/// Hand the master to tokio's reactor (within a runtime).
#[allow(unsafe_code)]
fn register(master: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the `OwnedFd` is moved into the `AsyncFd`, which alone owns it from now on: it
    // stays open, and is the same descriptor, until the `AsyncFd` is dropped (the only
    // requirement of `register`).
    unsafe { AsyncFd::register(master) }.map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn bytes_cross_the_pair_and_the_size_is_set() {
        let size = WindowSize {
            cols: 100,
            rows: 30,
            width: 0,
            height: 0,
        };
        let (master, slave, _) = PtyMaster::open(size).expect("pty");
        let got = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((got.ws_col, got.ws_row), (100, 30));
        master
            .resize(WindowSize {
                cols: 120,
                rows: 40,
                ..size
            })
            .expect("resize");
        let got = rustix::termios::tcgetwinsize(&slave).expect("size");
        assert_eq!((got.ws_col, got.ws_row), (120, 40));

        let mut slave = std::fs::File::from(slave);
        slave.write_all(b"out").expect("write slave");
        let mut buf = [0u8; 16];
        let n = master.read(&mut buf).await.expect("read master");
        assert!(b"out".starts_with(&buf[..n]) && n > 0);
        master.write_all(b"in\n").await.expect("write master");
        let mut line = [0u8; 3];
        slave.read_exact(&mut line).expect("read slave");
        assert_eq!(&line, b"in\n");
    }
}
