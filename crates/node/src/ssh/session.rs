//! A running session: the `runc exec` process of one ssh channel, its input, its output and
//! its end. The channel's data goes to the process's stdin (or the terminal); its stdout and
//! stderr (or the terminal) come back as channel data and extended data; when it exits, its
//! status is sent (`exit-status`), then EOF and close. When the channel or the connection
//! closes first, the session is hung up: SIGHUP to its process group inside the container
//! (runc makes the process a session leader; its pid is in runc's `--pid-file`), then
//! SIGKILL to the group and runc if they linger; runc is always reaped.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use russh::server::Msg;
use russh::ChannelWriteHalf;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::consoles::{Console, Consoles};
use super::pty::{PtyMaster, WindowSize};

/// How many pieces of client input may wait for the process before the connection waits.
const INPUT_QUEUE: usize = 1024;

/// How long a hung-up session may take to exit before it is killed.
const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// The host side of a session's terminal, and the runc process to tell about a new size
/// while it runs.
#[derive(Debug)]
struct Terminal {
    master: Arc<PtyMaster>,
    runc: Option<i32>,
    runc_running: Arc<AtomicBool>,
}

/// A started session, owned by its channel. Dropping it (channel or connection closed) ends
/// the process.
#[derive(Debug)]
pub(crate) struct Running {
    input: Option<mpsc::Sender<Bytes>>,
    terminal: Option<Terminal>,
    _stop: oneshot::Sender<()>,
}

impl Running {
    /// Start `command` (a `runc exec` writing the pid of its process to `pid_file`) for the
    /// channel whose sending half is `channel`: with pipes, or with a terminal of `size`,
    /// registered as one of the container's `console` terminals while the session lasts.
    pub fn start(
        mut command: Command,
        pid_file: PathBuf,
        terminal: Option<WindowSize>,
        channel: ChannelWriteHalf<Msg>,
        console: (&Consoles, u32),
    ) -> io::Result<Running> {
        let (input, input_rx) = mpsc::channel(INPUT_QUEUE);
        let (stop, stop_rx) = oneshot::channel();
        let terminal = match terminal {
            Some(size) => {
                let (master, slave, path) = PtyMaster::open(size)?;
                let registered = console.0.register(console.1, path);
                command
                    .stdin(Stdio::from(slave.try_clone()?))
                    .stdout(Stdio::from(slave.try_clone()?))
                    .stderr(Stdio::from(slave.try_clone()?));
                let child = command.spawn()?;
                let runc = child.id().and_then(|p| i32::try_from(p).ok());
                let master = Arc::new(master);
                let runc_running = Arc::new(AtomicBool::new(true));
                tokio::spawn(supervise_terminal(
                    Session { child, pid_file },
                    Arc::clone(&runc_running),
                    Arc::clone(&master),
                    (slave, registered),
                    channel,
                    input_rx,
                    stop_rx,
                ));
                Some(Terminal {
                    master,
                    runc,
                    runc_running,
                })
            }
            None => {
                command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let child = command.spawn()?;
                tokio::spawn(supervise_pipes(
                    Session { child, pid_file },
                    channel,
                    input_rx,
                    stop_rx,
                ));
                None
            }
        };
        Ok(Running {
            input: Some(input),
            terminal,
            _stop: stop,
        })
    }

    /// Pass client input on; waits while the process is far behind.
    pub async fn input(&self, data: &[u8]) {
        if let Some(input) = &self.input {
            // An error means the process is gone: its input no longer matters.
            let _ = input.send(Bytes::copy_from_slice(data)).await;
        }
    }

    /// The client sent EOF: close the process's stdin (a terminal has no EOF to pass on).
    pub fn end_of_input(&mut self) {
        self.input = None;
    }

    /// The client's terminal changed size: resize ours and tell runc (SIGWINCH), which
    /// resizes the one inside the container.
    pub fn resize(&self, size: WindowSize) {
        let Some(terminal) = &self.terminal else {
            return;
        };
        if let Err(error) = terminal.master.resize(size) {
            tracing::debug!(%error, "ssh: cannot resize the terminal");
        }
        // Never once runc is reaped: its pid could be another process's by then.
        if let Some(runc) = terminal.runc {
            if terminal.runc_running.load(Ordering::Acquire) {
                let _ = kill(Pid::from_raw(runc), Signal::SIGWINCH);
            }
        }
    }
}

/// The status to report for a process: its exit code, or 128 + the signal that killed it.
fn exit_code(status: io::Result<ExitStatus>) -> u32 {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => u32::try_from(code).unwrap_or(255),
            (None, Some(signal)) => 128 + u32::try_from(signal).unwrap_or(0),
            (None, None) => 255,
        },
        Err(_) => 255,
    }
}

/// Tell the client how it ended and close the channel (errors: the client is gone).
async fn finish(channel: &ChannelWriteHalf<Msg>, status: io::Result<ExitStatus>) {
    let _ = channel.exit_status(exit_code(status)).await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}

/// The runc process of a session, and where runc wrote the pid of the session's process.
struct Session {
    child: Child,
    pid_file: PathBuf,
}

impl Session {
    /// The session's process group (its process is a session leader), as runc recorded it.
    /// runc writes it just after starting the process: wait for it a little while runc runs.
    async fn group(&mut self) -> Option<Pid> {
        for _ in 0..20 {
            if let Some(pid) = std::fs::read_to_string(&self.pid_file)
                .ok()
                .and_then(|text| text.trim().parse::<i32>().ok())
            {
                return (pid > 1).then(|| Pid::from_raw(pid));
            }
            if !matches!(self.child.try_wait(), Ok(None)) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Hang up on the session: SIGHUP to its process group (and to runc, which passes it
    /// on); after a grace period SIGKILL to whatever is left of both. runc is reaped.
    async fn hang_up(&mut self) {
        let group = self.group().await;
        if let Some(group) = group {
            let _ = killpg(group, Signal::SIGHUP);
        }
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGHUP);
        }
        if tokio::time::timeout(HANGUP_GRACE, self.child.wait())
            .await
            .is_err()
        {
            if let Some(group) = group {
                let _ = killpg(group, Signal::SIGKILL);
            }
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// Copy `from` to the channel writer `to` until EOF or error.
async fn pump(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to
                    .write_all(buf.get(..n).unwrap_or_default())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    let _ = to.flush().await;
}

async fn supervise_pipes(
    mut session: Session,
    channel: ChannelWriteHalf<Msg>,
    mut input: mpsc::Receiver<Bytes>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut stdin = session.child.stdin.take();
    let stdout = session.child.stdout.take();
    let stderr = session.child.stderr.take();
    let feed = async move {
        // Keep receiving after the process closed its stdin, so that the client never waits.
        while let Some(data) = input.recv().await {
            if let Some(pipe) = &mut stdin {
                if pipe.write_all(&data).await.is_err() {
                    stdin = None;
                }
            }
        }
        // EOF from the client: the process sees the end of its stdin.
    };
    let out = channel.make_writer();
    let err = channel.make_writer_ext(Some(1));
    let outputs = async move {
        let out = async {
            if let Some(stdout) = stdout {
                pump(stdout, out).await;
            }
        };
        let err = async {
            if let Some(stderr) = stderr {
                pump(stderr, err).await;
            }
        };
        tokio::join!(out, err);
    };
    tokio::pin!(feed, outputs);
    let (mut fed, mut output_done) = (false, false);
    loop {
        tokio::select! {
            _ = &mut stop => return session.hang_up().await,
            () = &mut feed, if !fed => fed = true,
            () = &mut outputs, if !output_done => output_done = true,
            status = session.child.wait(), if output_done => return finish(&channel, status).await,
        }
    }
}

async fn supervise_terminal(
    mut session: Session,
    runc_running: Arc<AtomicBool>,
    master: Arc<PtyMaster>,
    // Held until runc has exited, so that reading the master never fails before everything
    // written to the terminal has been read; so is the terminal's registration.
    (slave, console): (OwnedFd, Console),
    channel: ChannelWriteHalf<Msg>,
    mut input: mpsc::Receiver<Bytes>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut out = channel.make_writer();
    let status = {
        let typing = Arc::clone(&master);
        let feed = async move {
            while let Some(data) = input.recv().await {
                if typing.write_all(&data).await.is_err() {
                    break;
                }
            }
            // Drain what still comes, without a terminal to write it to.
            while input.recv().await.is_some() {}
        };
        let (first_output, first_output_seen) = oneshot::channel::<()>();
        let output = async {
            let mut buf = vec![0u8; 32 * 1024];
            let mut first_output = Some(first_output);
            loop {
                match master.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if let Some(first) = first_output.take() {
                            let _ = first.send(());
                        }
                        if out
                            .write_all(buf.get(..n).unwrap_or_default())
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        };
        // runc sizes the inner terminal once at start, but may do so before it holds that
        // terminal (it then stays 0x0). Output means it is about to hold it, or does: have it
        // size it again then, and a little later. Part of this loop, so never after runc
        // is reaped (its pid could be another process's by then).
        let runc = session.child.id().and_then(|p| i32::try_from(p).ok());
        let nudge = async move {
            if first_output_seen.await.is_err() {
                return;
            }
            for delay in [0, 100, 500] {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                if let Some(runc) = runc {
                    let _ = kill(Pid::from_raw(runc), Signal::SIGWINCH);
                }
            }
        };
        tokio::pin!(feed, output, nudge);
        let (mut fed, mut output_done, mut nudged) = (false, false, false);
        loop {
            tokio::select! {
                _ = &mut stop => {
                    runc_running.store(false, Ordering::Release);
                    return session.hang_up().await;
                }
                () = &mut feed, if !fed => fed = true,
                () = &mut output, if !output_done => output_done = true,
                () = &mut nudge, if !nudged => nudged = true,
                status = session.child.wait() => {
                    runc_running.store(false, Ordering::Release);
                    break status;
                }
            }
        }
    };
    // runc has exited: what it wrote is in the terminal; pass it on, then end.
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = master.read_now(&mut buf) {
        if n == 0
            || out
                .write_all(buf.get(..n).unwrap_or_default())
                .await
                .is_err()
        {
            break;
        }
    }
    let _ = out.flush().await;
    drop(console);
    drop(slave);
    finish(&channel, status).await;
}
