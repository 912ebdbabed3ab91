//! SSH tunnels: the system's OpenSSH client forwards one loopback port to each server of a
//! profile (`ssh -N -L 127.0.0.1:LPORT:HOST:PORT ...`), so the user's `~/.ssh/config`, agent,
//! keys (FIDO ones too), `ProxyJump` chains and `known_hosts` apply exactly as for `ssh`
//! itself. One ssh process serves all the pools of a profile; it is started on first use,
//! started again (on the same ports when they are still free) when it has exited, and killed
//! when the connections are closed or dropped.
//!
//! ssh runs in batch mode (it never prompts: a passphrase-protected key must be in the agent)
//! with strict host key checking; what it says on stderr is kept (a bounded tail, never
//! logged) and turns a failure into an error the user can act on: an unknown host key with its
//! fingerprint and how to accept it, a changed one refused loudly, a refused key, an SSH host
//! that cannot be reached.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::error::{CoreError, ErrorCode, Result};
use crate::profile::{Profile, SshSettings};

/// How many bytes of ssh's stderr are kept (its last ones).
const LOG_KEEP: usize = 64 * 1024;

/// A profile's tunnel: the servers it forwards to and the ssh process, when one runs.
pub(super) struct Tunnel {
    settings: SshSettings,
    /// The servers (host, port) forwarded to, as the SSH host resolves and reaches them.
    targets: Vec<(String, u16)>,
    connect_timeout: Duration,
    state: tokio::sync::Mutex<State>,
    /// What the current (or last) ssh said.
    log: Arc<Mutex<Log>>,
}

#[derive(Default)]
struct State {
    child: Option<Child>,
    /// The loopback port of each target, kept to start again on the same ports.
    ports: Vec<u16>,
}

/// The tail of what ssh wrote on stderr, and the channel failures seen in it.
#[derive(Default)]
struct Log {
    text: String,
    open_failures: u64,
    last_open_failure: Option<String>,
}

impl Log {
    fn push(&mut self, chunk: &str) {
        self.text.push_str(chunk);
        for line in chunk.lines().filter(|l| l.contains("open failed")) {
            self.open_failures += 1;
            self.last_open_failure = Some(line.trim().to_string());
        }
        if self.text.len() > LOG_KEEP {
            let mut cut = self.text.len() - LOG_KEEP / 2;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }
}

/// What starting ssh once gave.
enum Start {
    Ready,
    /// A local port could not be bound: try others.
    PortTaken,
}

impl Tunnel {
    pub fn new(
        settings: SshSettings,
        targets: Vec<(String, u16)>,
        connect_timeout: Duration,
    ) -> Self {
        Self {
            settings,
            targets,
            connect_timeout,
            state: tokio::sync::Mutex::new(State::default()),
            log: Arc::default(),
        }
    }

    /// The tunnel of `profile`, forwarding to its server and those of its plugin overrides.
    pub fn of(profile: &Profile) -> Option<Tunnel> {
        let ssh = profile.ssh.clone()?;
        let mut targets = vec![(profile.host.clone(), profile.port)];
        for o in profile.plugins.values() {
            let t = (
                o.host.clone().unwrap_or_else(|| profile.host.clone()),
                o.port.unwrap_or(profile.port),
            );
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let timeout = Duration::from_secs(profile.pool.connect_timeout_secs.max(1));
        Some(Tunnel::new(ssh, targets, timeout))
    }

    pub fn destination(&self) -> &str {
        &self.settings.destination
    }

    /// The loopback port that reaches `host:port`, the tunnel started (again) if needed. The
    /// flag says that the ports changed since the last start (connections made before must be
    /// made again).
    pub async fn local_port(&self, host: &str, port: u16) -> Result<(u16, bool)> {
        let idx = self
            .targets
            .iter()
            .position(|(h, p)| h == host && *p == port)
            .ok_or_else(|| {
                CoreError::Internal(format!("{host}:{port} is not forwarded by the SSH tunnel"))
            })?;
        let mut state = self.state.lock().await;
        if let Some(child) = state.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return Ok((state.ports[idx], false));
            }
            let why = last_lines(&self.log_text());
            tracing::debug!(destination = %self.settings.destination, %why, "the SSH tunnel had ended; starting it again");
            state.child = None;
        }
        let before = state.ports.clone();
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > 1 || state.ports.len() != self.targets.len() {
                state.ports = free_ports(self.targets.len())?;
            }
            match self.start(&mut state).await? {
                Start::Ready => break,
                Start::PortTaken if tries < 4 => continue,
                Start::PortTaken => {
                    return Err(self.error(
                        ErrorCode::Unreachable,
                        "ssh could not listen on a loopback port (tried 4 times)".into(),
                    ));
                }
            }
        }
        let changed = !before.is_empty() && before != state.ports;
        Ok((state.ports[idx], changed))
    }

    /// Channel failures so far (the SSH host could not open a forwarded connection), and the
    /// last one's line.
    pub fn open_failures(&self) -> (u64, Option<String>) {
        let log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (log.open_failures, log.last_open_failure.clone())
    }

    fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .text
            .clone()
    }

    /// The process id of the running ssh, if any.
    pub fn pid(&self) -> Option<u32> {
        self.state.try_lock().ok()?.child.as_ref()?.id()
    }

    /// Stops ssh.
    pub async fn stop(&self) {
        let mut state = self.state.lock().await;
        if let Some(mut child) = state.child.take() {
            let _ = child.kill().await;
            tracing::debug!(destination = %self.settings.destination, "SSH tunnel closed");
        }
    }

    fn error(&self, code: ErrorCode, message: String) -> CoreError {
        CoreError::Ssh {
            code,
            destination: self.settings.destination.clone(),
            message,
        }
    }

    /// The arguments of ssh, forwarding `ports` to the targets.
    fn args(&self, ports: &[u16]) -> Result<Vec<String>> {
        let s = &self.settings;
        let timeout = self.connect_timeout.as_secs().max(1);
        let mut args: Vec<String> = vec!["-N".into(), "-T".into(), "-v".into()];
        for o in [
            "BatchMode=yes".to_string(),
            "StrictHostKeyChecking=yes".into(),
            "ExitOnForwardFailure=yes".into(),
            "ServerAliveInterval=15".into(),
            "ServerAliveCountMax=3".into(),
            "ControlMaster=no".into(),
            "ControlPath=none".into(),
            format!("ConnectTimeout={timeout}"),
        ] {
            args.extend(["-o".into(), o]);
        }
        if let Some(f) = &s.config_file {
            args.extend(["-F".into(), f.to_string_lossy().into_owned()]);
        }
        if let Some(i) = &s.identity_file {
            args.extend(["-i".into(), i.to_string_lossy().into_owned()]);
            args.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
        }
        if let Some(proxy) = self.proxy_command()? {
            args.extend(["-o".into(), format!("ProxyCommand={proxy}")]);
        }
        for ((host, port), local) in self.targets.iter().zip(ports) {
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            args.extend(["-L".into(), format!("127.0.0.1:{local}:{host}:{port}")]);
        }
        let (login, port) = split_destination(&s.destination)?;
        if let Some(p) = port {
            args.extend(["-p".into(), p.to_string()]);
        }
        args.push(login);
        Ok(args)
    }

    /// The jump hosts as a ProxyCommand (what `-J` does), so that the ssh of the last jump host
    /// also runs in batch mode with strict host key checking (`-J` passes neither on).
    fn proxy_command(&self) -> Result<Option<String>> {
        let s = &self.settings;
        let Some((last, before)) = s.jump.split_last() else {
            return Ok(None);
        };
        for j in &s.jump {
            check_word(j, "jump host")?;
        }
        let word = |w: &str| shell_word(w).replace('%', "%%");
        let mut words: Vec<String> = vec!["ssh".into(), "-v".into()];
        for o in [
            "BatchMode=yes".to_string(),
            "StrictHostKeyChecking=yes".into(),
            "ControlMaster=no".into(),
            "ControlPath=none".into(),
            format!("ConnectTimeout={}", self.connect_timeout.as_secs().max(1)),
        ] {
            words.extend(["-o".into(), o]);
        }
        if let Some(f) = &s.config_file {
            words.extend(["-F".into(), word(&f.to_string_lossy())]);
        }
        if !before.is_empty() {
            words.extend(["-J".into(), word(&before.join(","))]);
        }
        let (login, port) = split_destination(last)?;
        if let Some(p) = port {
            words.extend(["-p".into(), p.to_string()]);
        }
        words.extend(["-W".into(), "'[%h]:%p'".into(), word(&login)]);
        Ok(Some(words.join(" ")))
    }

    /// Starts ssh once on `state.ports` and waits until the first forward accepts a TCP
    /// connection, ssh exits, or the connect timeout passes.
    async fn start(&self, state: &mut State) -> Result<Start> {
        let args = self.args(&state.ports)?;
        tracing::debug!(destination = %self.settings.destination, ports = ?state.ports, "starting the SSH tunnel");
        let mut child = Command::new("ssh")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                self.error(
                    ErrorCode::Config,
                    format!("cannot run `ssh` ({e}); install the OpenSSH client (package openssh-client) or put it on the PATH"),
                )
            })?;
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .text
            .clear();
        let log = self.log.clone();
        let reader = child.stderr.take().map(|mut err| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = err.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let chunk = String::from_utf8_lossy(&buf[..n]);
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(&chunk);
                }
            })
        });
        let probe = SocketAddr::from((Ipv4Addr::LOCALHOST, state.ports[0]));
        let deadline = Instant::now() + self.connect_timeout + Duration::from_secs(1);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                if let Some(r) = reader {
                    let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
                }
                let text = self.log_text();
                tracing::debug!(%status, "ssh exited before the tunnel was up");
                return match self.classify(&text) {
                    None => Ok(Start::PortTaken),
                    Some(e) => Err(e),
                };
            }
            if let Ok(Ok(s)) = tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(probe),
            )
            .await
            {
                drop(s);
                tracing::debug!(destination = %self.settings.destination, "SSH tunnel up");
                state.child = Some(child);
                return Ok(Start::Ready);
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                let text = self.log_text();
                return Err(CoreError::Timeout {
                    what: format!(
                        "opening the SSH tunnel through {}",
                        self.settings.destination
                    ),
                    after: self.connect_timeout,
                    hint: Some(format!(
                        "ssh did not set up the tunnel in time (it said: {}); check the SSH host, \
                         the jump hosts and the network, or raise the connect timeout",
                        last_lines(&text)
                    )),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The error of an ssh that exited, from what it said; `None` when a local port was taken.
    fn classify(&self, text: &str) -> Option<CoreError> {
        let said = last_lines(text);
        let line = |needle: &str| text.lines().find(|l| l.contains(needle)).map(str::trim);
        if text.contains("cannot listen to port")
            || text.contains("Could not request local forwarding")
        {
            return None;
        }
        if text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || text.contains("has changed and you have requested strict checking")
        {
            let fingerprint = text
                .lines()
                .skip_while(|l| !l.contains("sent by the remote host is"))
                .nth(1)
                .map(|l| l.trim().trim_end_matches('.'))
                .unwrap_or("unknown");
            let offending = line("Offending ").unwrap_or("the known_hosts file");
            let host = host_in(text, "Host key for ", " has changed").unwrap_or_default();
            return Some(self.error(
                ErrorCode::SshHostKey,
                format!(
                    "REFUSED: THE HOST KEY OF {host} HAS CHANGED. The server now presents {fingerprint}, not the key \
                     recorded in known_hosts ({offending}). This may be a man-in-the-middle attack: do not connect \
                     until the server's administrators confirm the new key; only then remove the old one with \
                     `ssh-keygen -R '{host}'` and accept the new one"
                ),
            ));
        }
        if let Some(host) = host_in(text, "host key is known for ", " and you have requested") {
            // The key offered just before the refusal (jump hosts print theirs too).
            let (prefix, _) =
                text.split_at(text.find("host key is known for ").unwrap_or(text.len()));
            let fingerprint = prefix
                .lines()
                .filter_map(|l| {
                    l.split_once("Server host key: ")
                        .map(|(_, k)| k.trim().to_string())
                })
                .next_back()
                .unwrap_or_else(|| "a key ssh did not print".into());
            let (name, port) = match host.strip_prefix('[').and_then(|h| h.split_once("]:")) {
                Some((h, p)) => (h.to_string(), p.to_string()),
                None => (host.clone(), "22".to_string()),
            };
            return Some(self.error(
                ErrorCode::SshHostKey,
                format!(
                    "the host key of {host} is not in known_hosts, so ssh refused to connect; the server presents \
                     {fingerprint}. Check this fingerprint with the server's administrators, then accept it with \
                     `ssh-keyscan -p {port} {name} >> ~/.ssh/known_hosts` (or connect once with `{}`)",
                    self.accept_command()
                ),
            ));
        }
        if text.contains("Host key verification failed") {
            return Some(self.error(
                ErrorCode::SshHostKey,
                format!("ssh could not verify a host key: {said}"),
            ));
        }
        if let Some(denied) = line("Permission denied (") {
            let identity = match &self.settings.identity_file {
                Some(f) => format!("the identity file {}", f.display()),
                None => "the keys of the ssh agent and ssh config".to_string(),
            };
            let message = if text.contains("Server accepts key") || text.contains("passphrase") {
                format!(
                    "{denied}: the server accepts {identity} but ssh could not use it: the key is protected by \
                     a passphrase and is not in the agent. The tunnel runs ssh in batch mode, which never asks \
                     for a passphrase: add the key to the agent (`ssh-add {}`) and retry",
                    self.settings
                        .identity_file
                        .as_ref()
                        .map(|f| f.display().to_string())
                        .unwrap_or_else(|| "KEYFILE".into())
                )
            } else {
                format!(
                    "{denied}: no key was accepted (tried {identity}); check the SSH user, the identity file \
                     (--ssh-identity), that the agent holds the key (`ssh-add -l`), and that its public key is \
                     in the server's authorized_keys"
                )
            };
            return Some(self.error(ErrorCode::Authentication, message));
        }
        for (needle, code) in [
            ("timed out", ErrorCode::Timeout),
            ("Connection refused", ErrorCode::Unreachable),
            ("Could not resolve hostname", ErrorCode::Unreachable),
            ("No route to host", ErrorCode::Unreachable),
            ("Network is unreachable", ErrorCode::Unreachable),
            ("Connection closed by", ErrorCode::Unreachable),
        ] {
            if let Some(l) = line(needle) {
                return Some(self.error(
                    code,
                    format!("cannot reach the SSH host ({l}); check the SSH host name and port, the jump hosts, and any firewall in between"),
                ));
            }
        }
        Some(self.error(ErrorCode::Unreachable, format!("ssh ended: {said}")))
    }

    /// An ssh command line that accepts an unknown host key of the destination once.
    fn accept_command(&self) -> String {
        let s = &self.settings;
        let mut words = vec![
            "ssh".to_string(),
            "-o StrictHostKeyChecking=accept-new".into(),
        ];
        if let Some(f) = &s.config_file {
            words.push(format!("-F {}", shell_word(&f.to_string_lossy())));
        }
        if !s.jump.is_empty() {
            words.push(format!("-J {}", shell_word(&s.jump.join(","))));
        }
        if let Ok((login, port)) = split_destination(&s.destination) {
            if let Some(p) = port {
                words.push(format!("-p {p}"));
            }
            words.push(shell_word(&login));
        }
        words.push("true".into());
        words.join(" ")
    }
}

/// `w` as one shell word (single-quoted unless plain).
fn shell_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// `host` in `...{before}HOST{after}...`.
fn host_in(text: &str, before: &str, after: &str) -> Option<String> {
    let start = text.find(before)? + before.len();
    let rest = &text[start..];
    Some(rest[..rest.find(after)?].trim().to_string())
}

/// The last lines ssh wrote that are not debug output, joined.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("debug") && !l.starts_with("OpenSSH_"))
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        "nothing".into()
    } else {
        tail
    }
}

/// Refuses a word that ssh would read as an option.
fn check_word(word: &str, what: &str) -> Result<()> {
    if word.trim().is_empty() || word.starts_with('-') || word.chars().any(char::is_whitespace) {
        return Err(CoreError::config(format!(
            "the SSH {what} `{word}` is not valid; give user@host[:port] or a host alias of the ssh config"
        )));
    }
    Ok(())
}

/// `user@host[:port]` (or `user@[v6]:port`, or an alias) as ssh's destination and port.
pub(super) fn split_destination(dest: &str) -> Result<(String, Option<u16>)> {
    check_word(dest, "destination")?;
    let (user, host) = match dest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, dest),
    };
    let (host, port) = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, "")) => (h.to_string(), None),
            Some((h, p)) => (h.to_string(), Some(p.trim_start_matches(':'))),
            None => (host.to_string(), None),
        }
    } else {
        match host.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h.to_string(), Some(p)),
            _ => (host.to_string(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| {
            CoreError::config(format!(
                "the SSH destination `{dest}` has no valid port after `:`; give user@host[:port]"
            ))
        })?),
    };
    let login = match user {
        Some(u) => format!("{u}@{host}"),
        None => host,
    };
    Ok((login, port))
}

/// `n` loopback ports free now (bound, read, released; ssh binds them next).
fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| CoreError::io("binding a loopback port for", "the SSH tunnel", e))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| CoreError::io("binding a loopback port for", "the SSH tunnel", e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn destinations_split_into_login_and_port() {
        let d = |s: &str| split_destination(s).unwrap();
        assert_eq!(d("bastion"), ("bastion".into(), None));
        assert_eq!(d("me@bastion:2222"), ("me@bastion".into(), Some(2222)));
        assert_eq!(d("me@[::1]:22"), ("me@::1".into(), Some(22)));
        assert_eq!(d("me@::1"), ("me@::1".into(), None));
        assert!(split_destination("-oProxyCommand=x").is_err());
        assert!(split_destination("me@host:notaport").is_err());
        assert_eq!(shell_word("me@host:22"), "me@host:22");
        assert_eq!(shell_word("/a b/it's"), "'/a b/it'\\''s'");
    }
}
