//! The demo's local PostgreSQL: a cluster in a data folder of the user's, TLS on (a CA and a
//! server certificate for `localhost` made at creation), SCRAM passwords, listening on
//! loopback only. Created once; later runs start it again if needed and reuse it.
//!
//! PostgreSQL refuses to run as root, so when `bsi` runs as root the cluster runs as the
//! `postgres` user and lives under `/var/lib/backstage-inspector/demo` (a root-owned home is
//! not readable by that user).
//!
//! The pieces of a local PostgreSQL are public, since the test harness (`bsi-testkit`) starts
//! its servers with them too: where the server programs are ([`find_bin`]), running them as the
//! `postgres` user when root ([`Runner`], with `initdb`), a free loopback port ([`free_port`]),
//! and the certificates ([`Authority`], [`install_server_cert`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::error::{CoreError, Result};
use crate::secrets::Secret;
use crate::sql::quote_ident;

/// The role the demo connects as (not a superuser; may create databases).
pub const DEMO_USER: &str = "backstage";

/// A running demo cluster.
#[derive(Debug)]
pub struct DemoCluster {
    pub dir: PathBuf,
    pub port: u16,
    /// The CA that signed the server certificate (trust it with verify-full).
    pub ca: PathBuf,
    /// The new role's password when the cluster was created by this call; `None` when reused.
    pub new_password: Option<Secret>,
}

/// Whether this process runs as root (PostgreSQL's programs then run as `postgres`).
pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The default data folder of the demo.
pub fn default_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("BSI_DEMO_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if running_as_root() {
        return Ok(PathBuf::from("/var/lib/backstage-inspector/demo"));
    }
    let app = if cfg!(debug_assertions) {
        "backstage-inspector-dev"
    } else {
        "backstage-inspector"
    };
    directories::ProjectDirs::from("", "", app)
        .map(|d| d.data_local_dir().join("demo"))
        .ok_or_else(|| CoreError::config("cannot find the home directory; set BSI_DEMO_DIR"))
}

/// The folder with PostgreSQL's server programs (initdb, pg_ctl, postgres).
pub fn find_bin() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BSI_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    candidates.sort();
    if let Some((_, bin)) = candidates.pop() {
        return Ok(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    Err(CoreError::config(
        "PostgreSQL's server programs (initdb, pg_ctl) were not found: install the `postgresql` \
         package (scripts/setup does) or set BSI_PG_BIN to the folder that holds them",
    ))
}

fn random_hex(bytes: usize) -> String {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        use sha2::Digest;
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        buf = sha2::Sha256::digest(seed.as_bytes())[..bytes.min(32)].to_vec();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A loopback port that nothing listens on at the moment of asking.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| CoreError::io("cannot bind", "127.0.0.1", e))?;
    Ok(l.local_addr()
        .map_err(|e| CoreError::io("cannot bind", "127.0.0.1", e))?
        .port())
}

/// Runs PostgreSQL's programs: as the `postgres` user when this process is root, else as
/// this process's user.
#[derive(Debug, Clone, Copy)]
pub struct Runner {
    as_postgres: bool,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// A runner for this process: as `postgres` when running as root.
    pub fn new() -> Self {
        Runner {
            as_postgres: running_as_root(),
        }
    }

    /// Whether the programs run as the `postgres` user.
    pub fn as_postgres(&self) -> bool {
        self.as_postgres
    }

    /// A command for `program`, under `runuser -u postgres` when needed.
    pub fn cmd(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// Runs `cmd` to its end; its standard output, or an error that says what failed.
    pub fn run(&self, cmd: &mut Command, what: &str) -> Result<String> {
        let out = cmd
            .output()
            .map_err(|e| CoreError::config(format!("cannot run {what}: {e}")))?;
        if !out.status.success() {
            return Err(CoreError::config(format!(
                "{what} failed: {}{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Gives `path` (recursively) to the `postgres` user when the programs run as it.
    pub fn chown(&self, path: &Path) -> Result<()> {
        if self.as_postgres {
            self.run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(path),
                "chown",
            )?;
        }
        Ok(())
    }

    /// `initdb` of a new cluster in `data`: superuser `postgres`, UTF-8, C locale, trust on the
    /// local socket and SCRAM over TCP; `extra` arguments are appended.
    pub fn initdb(&self, bin: &Path, data: &Path, extra: &[String]) -> Result<()> {
        self.run(
            self.cmd(&bin.join("initdb"))
                .arg("-D")
                .arg(data)
                .args([
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .args(extra),
            "initdb",
        )?;
        Ok(())
    }
}

fn cert_err(e: rcgen::Error) -> CoreError {
    CoreError::Internal(format!("cannot make the certificates: {e}"))
}

/// A certificate authority made here: its certificate and the key it signs with.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn params(cn: &str) -> Result<CertificateParams> {
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Ok(p)
    }

    /// A self-signed root CA named `cn`.
    pub fn root(cn: &str) -> Result<Self> {
        let key = KeyPair::generate().map_err(cert_err)?;
        let issuer = CertifiedIssuer::self_signed(Self::params(cn)?, key).map_err(cert_err)?;
        Ok(Authority { issuer })
    }

    /// An intermediate CA named `cn`, signed by this one.
    pub fn intermediate(&self, cn: &str) -> Result<Self> {
        let key = KeyPair::generate().map_err(cert_err)?;
        let issuer =
            CertifiedIssuer::signed_by(Self::params(cn)?, key, &self.issuer).map_err(cert_err)?;
        Ok(Authority { issuer })
    }

    /// Its certificate (PEM).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` signed by this CA: (certificate PEM, key PEM).
    pub fn localhost(&self) -> Result<(String, String)> {
        let key = KeyPair::generate().map_err(cert_err)?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).map_err(cert_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &self.issuer).map_err(cert_err)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// Writes the server's certificate (chain) and key into the data folder `data` as
/// `server.crt` and `server.key`, the key readable by its owner only.
pub fn install_server_cert(
    runner: &Runner,
    data: &Path,
    cert_pem: &str,
    key_pem: &str,
) -> Result<()> {
    let write = |p: PathBuf, s: &str| {
        std::fs::write(&p, s).map_err(|e| CoreError::io("cannot write", p, e))
    };
    write(data.join("server.crt"), cert_pem)?;
    let key = data.join("server.key");
    write(key.clone(), key_pem)?;
    runner.run(Command::new("chmod").arg("600").arg(&key), "chmod")?;
    Ok(())
}

/// The demo's CA (`ca.crt` in `dir`) and the server's certificate signed by it (in `data`).
fn certificates(runner: &Runner, dir: &Path, data: &Path) -> Result<()> {
    let ca = Authority::root("Backstage Inspector Demo CA")?;
    let (cert, key) = ca.localhost()?;
    let path = dir.join("ca.crt");
    std::fs::write(&path, ca.pem()).map_err(|e| CoreError::io("cannot write", path, e))?;
    install_server_cert(runner, data, &cert, &key)
}

fn read_port(data: &Path) -> Option<u16> {
    let conf = std::fs::read_to_string(data.join("postgresql.auto.conf")).ok()?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("port = "))
        .filter_map(|v| v.trim_matches('\'').parse().ok())
        .next_back()
}

/// Creates the cluster if needed and starts it if it is not running.
pub fn ensure(dir: &Path, progress: &dyn Fn(&str)) -> Result<DemoCluster> {
    let bin = find_bin()?;
    let runner = Runner::new();
    let data = dir.join("data");
    let mut new_password = None;
    if !data.join("PG_VERSION").is_file() {
        create(&runner, &bin, dir, &data, progress)?;
        new_password = Some(Secret::new(random_hex(18)));
    }
    let port = read_port(&data).ok_or_else(|| {
        CoreError::config(format!(
            "{} has no port setting; remove the demo folder to start afresh",
            data.display()
        ))
    })?;
    start(&runner, &bin, dir, &data, port, progress)?;
    if let Some(pw) = &new_password {
        create_role(&runner, &bin, dir, port, pw)?;
    }
    Ok(DemoCluster {
        dir: dir.to_path_buf(),
        port,
        ca: dir.join("ca.crt"),
        new_password,
    })
}

/// A new cluster in `data` (under `dir`): initdb, certificates, a free port, TLS and SCRAM on
/// loopback only.
fn create(
    runner: &Runner,
    bin: &Path,
    dir: &Path,
    data: &Path,
    progress: &dyn Fn(&str),
) -> Result<()> {
    progress(&format!(
        "creating a PostgreSQL cluster in {}",
        dir.display()
    ));
    std::fs::create_dir_all(dir).map_err(|e| CoreError::io("cannot create", dir, e))?;
    if data.exists() {
        return Err(CoreError::config(format!(
            "{} exists but is not a PostgreSQL data folder; remove it or choose another folder with --dir",
            data.display()
        )));
    }
    runner.chown(dir)?;
    runner.initdb(bin, data, &[])?;
    certificates(runner, dir, data)?;
    let port = free_port()?;
    let conf = format!(
        "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nssl = on\n\
         ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\npassword_encryption = 'scram-sha-256'\n\
         max_connections = 100\nshared_buffers = '256MB'\nmax_wal_size = '4GB'\n",
        dir.display()
    );
    std::fs::write(data.join("postgresql.auto.conf"), conf)
        .map_err(|e| CoreError::io("cannot write", data, e))?;
    let hba = "local all postgres trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n";
    std::fs::write(data.join("pg_hba.conf"), hba)
        .map_err(|e| CoreError::io("cannot write", data, e))?;
    runner.chown(dir)
}

/// Starts the cluster unless it runs.
fn start(
    runner: &Runner,
    bin: &Path,
    dir: &Path,
    data: &Path,
    port: u16,
    progress: &dyn Fn(&str),
) -> Result<()> {
    let running = runner
        .cmd(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(data)
        .arg("status")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !running {
        progress(&format!("starting PostgreSQL on 127.0.0.1:{port}"));
        runner.run(
            runner
                .cmd(&bin.join("pg_ctl"))
                .arg("-D")
                .arg(data)
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-w", "-t", "60", "start"]),
            "starting PostgreSQL (see server.log in the demo folder)",
        )?;
    }
    Ok(())
}

/// The role the demo connects as, with its password.
fn create_role(runner: &Runner, bin: &Path, dir: &Path, port: u16, pw: &Secret) -> Result<()> {
    // The role's password travels over the owner-only local socket, never through a file.
    let sql = format!(
        "CREATE ROLE {} LOGIN CREATEDB PASSWORD '{}'",
        quote_ident(DEMO_USER),
        pw.expose().replace('\'', "''")
    );
    runner.run(
        runner
            .cmd(&bin.join("psql"))
            .arg("-h")
            .arg(dir)
            .arg("-p")
            .arg(port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
            ])
            .arg(sql),
        "creating the demo role",
    )?;
    Ok(())
}

/// Stops the demo cluster if it runs.
pub fn stop(dir: &Path) -> Result<bool> {
    let bin = find_bin()?;
    let runner = Runner::new();
    let data = dir.join("data");
    if !data.join("postmaster.pid").exists() {
        return Ok(false);
    }
    runner.run(
        runner
            .cmd(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "stop"]),
        "stopping PostgreSQL",
    )?;
    Ok(true)
}
