//! One ssh connection: who logs in (a container uid, with one of its keys) and its session
//! channels (`pty-req`, `env`, `shell`, `exec`, `subsystem sftp`, `window-change`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use russh::keys::PublicKey;
use russh::server::{
    Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelWriteHalf, MethodKind, MethodSet, Pty};

use super::exec::{accepted_env, terminal_type, Entrance, Program};
use super::key_book::KeyBook;
use super::pty::WindowSize;
use super::session::Running;

/// Session channels one connection may have open at once (OpenSSH's `MaxSessions`).
const MAX_CHANNELS: usize = 10;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Who may log in where.
    pub keys: KeyBook,
    /// How sessions enter containers.
    pub entrance: Entrance,
    /// A private directory (0700) for the sessions' pid files.
    pub pid_dir: tempfile::TempDir,
    /// Numbers the sessions, for their pid files.
    pub sessions: AtomicU64,
}

/// The authenticated user: a container uid, and what its key allows.
#[derive(Debug, Clone, Copy)]
struct Login {
    uid: u32,
    allows_pty: bool,
}

/// A session channel: what the client asked for before starting it, then the running
/// process.
#[derive(Debug)]
struct SessionChannel {
    /// Taken by the process when it starts: a channel starts at most once.
    writer: Option<ChannelWriteHalf<Msg>>,
    terminal: Option<(String, WindowSize)>,
    env: Vec<(String, String)>,
    running: Option<Running>,
}

/// The russh handler of one connection.
pub(crate) struct Connection {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    login: Option<Login>,
    channels: HashMap<ChannelId, SessionChannel>,
}

impl Connection {
    /// A connection from `peer`, not yet authenticated.
    pub fn new(shared: Arc<Shared>, peer: Option<SocketAddr>) -> Connection {
        Connection {
            shared,
            peer,
            login: None,
            channels: HashMap::new(),
        }
    }

    /// The uid `user` names, with the key's permissions, when `key` opens its container.
    fn check(&self, user: &str, key: &PublicKey) -> Option<Login> {
        let uid: u32 = user
            .parse()
            .ok()
            .filter(|uid: &u32| uid.to_string() == user)?;
        let authorized = self.shared.keys.authorize(uid, key)?;
        Some(Login {
            uid,
            allows_pty: authorized.allows_pty(),
        })
    }

    /// Start `program` on `channel`, answering the request.
    fn start(
        &mut self,
        id: ChannelId,
        program: Program,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        let (Some(login), Some(channel)) = (self.login, self.channels.get_mut(&id)) else {
            return session.channel_failure(id);
        };
        let Some(writer) = channel.writer.take() else {
            return session.channel_failure(id);
        };
        let number = self.shared.sessions.fetch_add(1, Ordering::Relaxed);
        let pid_file = self.shared.pid_dir.path().join(format!("{number}.pid"));
        let command = self.shared.entrance.command(
            login.uid,
            &program,
            channel.terminal.as_ref().map(|(term, _)| term.as_str()),
            &channel.env,
            &pid_file,
        );
        let size = channel.terminal.as_ref().map(|(_, size)| *size);
        let consoles = self.shared.keys.consoles();
        match Running::start(command, pid_file, size, writer, (consoles, login.uid)) {
            Ok(running) => {
                tracing::info!(uid = login.uid, peer = ?self.peer, ?program, "ssh session");
                channel.running = Some(running);
                session.channel_success(id)
            }
            Err(error) => {
                tracing::warn!(uid = login.uid, %error, "ssh: cannot start a session");
                session.channel_failure(id)
            }
        }
    }
}

/// Only public keys: no password or keyboard-interactive prompt is ever offered.
fn public_key_only() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
        partial_success: false,
    }
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(public_key_only())
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        tracing::info!(user, peer = ?self.peer, "ssh: password refused (keys only)");
        Ok(public_key_only())
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        _user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        Ok(public_key_only())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(match self.check(user, offer.public_key) {
            Some(_) => Auth::Accept,
            None => public_key_only(),
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        // Checked again: the book may have changed since the offer.
        match self.check(user, key.public_key) {
            Some(login) => {
                tracing::info!(uid = login.uid, peer = ?self.peer, "ssh: logged in");
                self.login = Some(login);
                Ok(Auth::Accept)
            }
            None => {
                tracing::info!(user, peer = ?self.peer, "ssh: key refused");
                Ok(public_key_only())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.login.is_none() || self.channels.len() >= MAX_CHANNELS {
            // Dropping the reply refuses the channel.
            return Ok(());
        }
        // Requests and data arrive through this handler; the reading half is not needed,
        // and dropped so that russh never waits for it to be read.
        let (_, writer) = channel.split();
        self.channels.insert(
            writer.id(),
            SessionChannel {
                writer: Some(writer),
                terminal: None,
                env: Vec::new(),
                running: None,
            },
        );
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        id: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        width: u32,
        height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let allowed = self.login.is_some_and(|l| l.allows_pty);
        match self.channels.get_mut(&id) {
            Some(channel) if allowed && channel.writer.is_some() => {
                let size = WindowSize {
                    cols,
                    rows,
                    width,
                    height,
                };
                channel.terminal = Some((terminal_type(term).to_owned(), size));
                session.channel_success(id)
            }
            _ => session.channel_failure(id),
        }
    }

    async fn env_request(
        &mut self,
        id: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&id) {
            Some(channel) if channel.writer.is_some() && accepted_env(name, value) => {
                channel.env.push((name.to_owned(), value.to_owned()));
                session.channel_success(id)
            }
            _ => session.channel_failure(id),
        }
    }

    async fn shell_request(
        &mut self,
        id: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(id, Program::Shell, session)
    }

    async fn exec_request(
        &mut self,
        id: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(id, Program::Command(data.to_vec()), session)
    }

    async fn subsystem_request(
        &mut self,
        id: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            self.start(id, Program::Sftp, session)
        } else {
            session.channel_failure(id)
        }
    }

    async fn window_change_request(
        &mut self,
        id: ChannelId,
        cols: u32,
        rows: u32,
        width: u32,
        height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let size = WindowSize {
            cols,
            rows,
            width,
            height,
        };
        if let Some(channel) = self.channels.get_mut(&id) {
            if let Some((_, pending)) = &mut channel.terminal {
                *pending = size;
            }
            if let Some(running) = &channel.running {
                running.resize(size);
            }
        }
        Ok(())
    }

    async fn data(
        &mut self,
        id: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(running) = self.channels.get(&id).and_then(|c| c.running.as_ref()) {
            running.input(data).await;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        id: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(running) = self.channels.get_mut(&id).and_then(|c| c.running.as_mut()) {
            running.end_of_input();
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        id: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Dropping the running session ends its process if it still runs.
        self.channels.remove(&id);
        Ok(())
    }
}
