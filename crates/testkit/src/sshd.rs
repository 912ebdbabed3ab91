//! A real OpenSSH server for tests (`/usr/sbin/sshd`, package openssh-server): on a loopback
//! port, with its own generated host key, config, authorized keys, pid file and log in a
//! temporary folder; the login user is the current user (root may log in with a key). Clients
//! get a config file of their own ([`Sshd::client_config`]) so that tests never read or write
//! `~/.ssh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The sshd binary.
pub const SSHD: &str = "/usr/sbin/sshd";

/// Client keys shared by every server of the process: `client` (authorized everywhere),
/// `locked` (authorized, passphrase-protected) and `stranger` (authorized nowhere).
pub struct ClientKeys {
    _dir: tempfile::TempDir,
    pub client: PathBuf,
    pub locked: PathBuf,
    pub stranger: PathBuf,
}

/// The process-wide client keys, made on first use.
pub fn client_keys() -> &'static ClientKeys {
    static KEYS: OnceLock<ClientKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = |name: &str, passphrase: &str| {
            let path = dir.path().join(name);
            keygen(&path, passphrase);
            path
        };
        ClientKeys {
            client: key("client", ""),
            locked: key("locked", "a passphrase"),
            stranger: key("stranger", ""),
            _dir: dir,
        }
    })
}

fn keygen(path: &Path, passphrase: &str) {
    let ok = Command::new("ssh-keygen")
        .args([
            "-q", "-t", "ed25519", "-N", passphrase, "-C", "bsi-test", "-f",
        ])
        .arg(path)
        .status()
        .expect("run ssh-keygen")
        .success();
    assert!(ok, "ssh-keygen failed for {}", path.display());
}

/// The login name of the current user.
pub fn login_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A running sshd, stopped when dropped.
pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The host key's public half (`ssh-ed25519 AAAA...`).
    pub host_key: String,
    child: Child,
}

impl Sshd {
    /// An sshd that allows TCP forwarding, with `extra` config lines (`PermitOpen ...`).
    pub fn start(extra: &str) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server"
        );
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        keygen(&d.join("host"), "");
        let keys = client_keys();
        let mut authorized = String::new();
        for k in [&keys.client, &keys.locked] {
            authorized.push_str(&std::fs::read_to_string(k.with_extension("pub")).expect("pub"));
        }
        std::fs::write(d.join("authorized_keys"), authorized).expect("authorized_keys");
        let port = crate::closed_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             StrictModes no\nUsePAM no\nAllowTcpForwarding yes\nPidFile {d}/sshd.pid\nLogLevel VERBOSE\n{extra}\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let child = Command::new(SSHD)
            .args(["-D", "-f"])
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start sshd");
        let host_key = std::fs::read_to_string(d.join("host.pub"))
            .expect("host.pub")
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let sshd = Sshd {
            port,
            dir,
            host_key,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    /// `user@127.0.0.1:PORT`.
    pub fn destination(&self) -> String {
        format!("{}@127.0.0.1:{}", login_user(), self.port)
    }

    /// This server's line for a known_hosts file.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_key)
    }

    /// The SHA256 fingerprint of the host key, as ssh prints it (`SHA256:...`).
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(self.dir.path().join("host.pub"))
            .output()
            .expect("ssh-keygen -l");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_string()
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client config file in `dir` trusting the hosts of `known_hosts` (written next to it) and
/// using the key `identity` alone, without the agent, `~/.ssh` or the system's known hosts.
pub fn client_config(dir: &Path, known_hosts: &str, identity: &Path) -> PathBuf {
    let kh = dir.join("known_hosts");
    std::fs::write(&kh, known_hosts).expect("known_hosts");
    let config = dir.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  IdentityAgent none\n  \
             IdentitiesOnly yes\n  IdentityFile {}\n  PasswordAuthentication no\n  KbdInteractiveAuthentication no\n",
            kh.display(),
            identity.display()
        ),
    )
    .expect("ssh_config");
    config
}
