//! The Cloud SQL connector route: a loopback port that forwards each connection over TLS to
//! the instance's server-side proxy (port 3307, which speaks TLS first: no PostgreSQL
//! `SSLRequest`), as Google's connectors do. The TLS uses an ephemeral client certificate for
//! our RSA key from the Cloud SQL Admin API, checks the server's certificate against the
//! instance's server CA from the same API and, as the connectors do, its common name
//! (`project:instance`) or, for instances with a CAS CA, its DNS name. PostgreSQL then runs
//! plain inside: sqlx connects to the loopback port with `sslmode=disable`.
//!
//! The certificate and the connect settings are renewed together when less than
//! [`RENEW_BEFORE`] of the certificate (or of the token it carries) is left, before a new
//! connection is forwarded. A connection the forwarder could not make (the instance
//! unreachable, its certificate untrusted or for another instance, our certificate refused) is
//! closed and its cause kept, so that the connection's error names it.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};

use crate::cloudauth::cloudsql::{self, ClientKey, InstanceName, SERVER_PROXY_PORT};
use crate::cloudauth::{RENEW_BEFORE, TokenSource};
use crate::error::{CoreError, Result};
use crate::profile::{AuthMethod, CloudsqlIpType, CloudsqlRoute, Profile};

/// The connector of one profile.
pub(super) struct Connector {
    inner: Arc<Inner>,
    listening: tokio::sync::Mutex<Option<(u16, tokio::task::JoinHandle<()>)>>,
}

struct Inner {
    instance: InstanceName,
    ip_type: CloudsqlIpType,
    tokens: Arc<TokenSource>,
    connect_timeout: Duration,
    key: tokio::sync::OnceCell<Arc<ClientKey>>,
    current: tokio::sync::Mutex<Option<Arc<Ready>>>,
    /// How many forwarded connections failed, and why the last one did.
    failures: Mutex<(u64, Option<Failure>)>,
}

/// A certificate and what to dial with it.
struct Ready {
    address: String,
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    expires_at: SystemTime,
}

/// Why a forwarded connection failed.
#[derive(Debug, Clone)]
enum Failure {
    Unreachable(String),
    Timeout(Duration),
    Untrusted(String),
    OtherInstance(String),
    Refused(String),
    Tls(String),
    Renewal(String),
}

impl Connector {
    /// The connector of a profile on the `connector` route (an error without an instance).
    pub fn of(profile: &Profile, tokens: Option<&Arc<TokenSource>>) -> Result<Option<Connector>> {
        let AuthMethod::Cloudsql {
            instance,
            route: CloudsqlRoute::Connector,
            ip_type,
        } = &profile.auth
        else {
            return Ok(None);
        };
        let Some(tokens) = tokens else {
            return Ok(None);
        };
        if profile.ssh.is_some() {
            return Err(CoreError::config(format!(
                "profile `{}` reaches Cloud SQL with the connector, which does not go through an \
                 SSH tunnel; turn the tunnel off (--ssh \"\") or use --cloudsql-route proxy with \
                 a tunnel to a Cloud SQL Auth Proxy or the instance's IP",
                profile.name
            )));
        }
        let instance = instance.as_deref().ok_or_else(|| {
            CoreError::config(format!(
                "profile `{}` reaches Cloud SQL with the connector but names no instance; give \
                 --cloudsql-instance project:region:instance",
                profile.name
            ))
        })?;
        Ok(Some(Connector {
            inner: Arc::new(Inner {
                instance: InstanceName::parse(instance)?,
                ip_type: *ip_type,
                tokens: tokens.clone(),
                connect_timeout: Duration::from_secs(profile.pool.connect_timeout_secs.max(1)),
                key: tokio::sync::OnceCell::new(),
                current: tokio::sync::Mutex::new(None),
                failures: Mutex::new((0, None)),
            }),
            listening: tokio::sync::Mutex::new(None),
        }))
    }

    /// The instance and the address dialled, for messages.
    pub async fn describe(&self) -> String {
        let current = self.inner.current.lock().await.clone();
        self.inner.server(current.as_deref())
    }

    /// The loopback port that reaches the instance: the certificate fetched or renewed first
    /// (so that an Admin API failure is this call's error), the listener started once.
    pub async fn local_port(&self) -> Result<u16> {
        self.inner.ready().await?;
        let mut listening = self.listening.lock().await;
        if let Some((port, task)) = listening.as_ref()
            && !task.is_finished()
        {
            return Ok(*port);
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| {
                CoreError::io("binding a loopback port for", "the Cloud SQL connector", e)
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| {
                CoreError::io("binding a loopback port for", "the Cloud SQL connector", e)
            })?
            .port();
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            while let Ok((local, _)) = listener.accept().await {
                let inner = inner.clone();
                tokio::spawn(async move { inner.forward(local).await });
            }
        });
        tracing::debug!(instance = %self.inner.instance, port, "Cloud SQL connector listening");
        *listening = Some((port, task));
        Ok(port)
    }

    /// How many forwarded connections have failed so far.
    pub fn failures(&self) -> u64 {
        self.inner.lock_failures().0
    }

    /// Why the last forwarded connection failed, as an error.
    pub async fn last_failure(&self) -> Option<CoreError> {
        let failure = self.inner.lock_failures().1.clone()?;
        Some(failure.into_error(self.describe().await))
    }

    /// Stops listening (connections in flight end with their streams).
    pub async fn stop(&self) {
        if let Some((_, task)) = self.listening.lock().await.take() {
            task.abort();
        }
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        if let Ok(mut l) = self.listening.try_lock()
            && let Some((_, task)) = l.take()
        {
            task.abort();
        }
    }
}

impl Inner {
    fn lock_failures(&self) -> std::sync::MutexGuard<'_, (u64, Option<Failure>)> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn server(&self, ready: Option<&Ready>) -> String {
        match ready {
            Some(r) => format!(
                "the Cloud SQL instance {} ({}:{SERVER_PROXY_PORT})",
                self.instance, r.address
            ),
            None => format!("the Cloud SQL instance {}", self.instance),
        }
    }

    /// The current certificate, renewed (with the connect settings) when less than
    /// [`RENEW_BEFORE`] of it is left.
    async fn ready(&self) -> Result<Arc<Ready>> {
        let mut current = self.current.lock().await;
        let now = self.tokens.now();
        if let Some(r) = current.as_ref()
            && r.expires_at.duration_since(now).unwrap_or_default() > RENEW_BEFORE
        {
            return Ok(r.clone());
        }
        let key = self
            .key
            .get_or_try_init(|| async {
                tokio::task::spawn_blocking(ClientKey::generate)
                    .await
                    .map_err(|e| CoreError::Internal(format!("making the client key: {e}")))?
                    .map(Arc::new)
            })
            .await?;
        let info =
            cloudsql::fetch_instance(&self.tokens, &self.instance, self.ip_type, key).await?;
        let verifier = InstanceVerifier::new(&info, self.instance.common_name())?;
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| CoreError::Internal(format!("TLS set-up: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(vec![info.client_cert.clone()], key.private_key())
            .map_err(|e| {
                CoreError::config(format!(
                    "the ephemeral certificate of {} does not fit the client key: {e}",
                    self.instance
                ))
            })?;
        let server_name = match (&info.server_name, info.address.parse::<std::net::IpAddr>()) {
            (Some(dns), _) => ServerName::try_from(dns.clone()),
            (None, Ok(ip)) => Ok(ServerName::IpAddress(ip.into())),
            (None, Err(_)) => ServerName::try_from(info.address.clone()),
        }
        .map_err(|_| CoreError::config(format!("`{}` is not a host name", info.address)))?;
        tracing::debug!(
            instance = %self.instance,
            address = %info.address,
            version = %info.database_version,
            valid_secs = info.expires_at.duration_since(now).unwrap_or_default().as_secs(),
            "Cloud SQL ephemeral certificate obtained"
        );
        let ready = Arc::new(Ready {
            address: info.address,
            config: Arc::new(config),
            server_name,
            expires_at: info.expires_at,
        });
        *current = Some(ready.clone());
        Ok(ready)
    }

    /// Forwards one local connection to the instance, or closes it keeping the cause.
    async fn forward(self: Arc<Self>, mut local: TcpStream) {
        let _ = local.set_nodelay(true);
        let ready = match self.ready().await {
            Ok(r) => r,
            Err(e) => return self.failed(Failure::Renewal(e.to_string())),
        };
        let dial = TcpStream::connect((ready.address.as_str(), SERVER_PROXY_PORT));
        let tcp = match tokio::time::timeout(self.connect_timeout, dial).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.failed(Failure::Unreachable(e.to_string())),
            Err(_) => return self.failed(Failure::Timeout(self.connect_timeout)),
        };
        let _ = tcp.set_nodelay(true);
        let connector = tokio_rustls::TlsConnector::from(ready.config.clone());
        let handshake = connector.connect(ready.server_name.clone(), tcp);
        let mut tls = match tokio::time::timeout(self.connect_timeout, handshake).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.failed(classify(&e)),
            Err(_) => return self.failed(Failure::Timeout(self.connect_timeout)),
        };
        if let Err(e) = tokio::io::copy_bidirectional(&mut local, &mut tls).await
            && e.get_ref().is_some_and(|i| i.is::<rustls::Error>())
        {
            self.failed(classify(&e));
        }
    }

    fn failed(&self, failure: Failure) {
        tracing::debug!(instance = %self.instance, ?failure, "Cloud SQL connection not forwarded");
        let mut f = self.lock_failures();
        f.0 += 1;
        f.1 = Some(failure);
    }
}

/// The failure a TLS error with the instance is.
fn classify(e: &std::io::Error) -> Failure {
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return Failure::Unreachable(e.to_string());
    };
    match tls {
        rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
            Failure::OtherInstance(o.to_string())
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Failure::OtherInstance(tls.to_string()),
        rustls::Error::InvalidCertificate(_) => Failure::Untrusted(tls.to_string()),
        rustls::Error::AlertReceived(_) => Failure::Refused(tls.to_string()),
        other => Failure::Tls(other.to_string()),
    }
}

impl Failure {
    fn into_error(self, server: String) -> CoreError {
        match self {
            Failure::Unreachable(cause) => CoreError::Unreachable {
                server,
                cause: format!("the connector could not connect to port {SERVER_PROXY_PORT} ({cause}); check that this machine can reach that address (a public IP needs no authorized network with the connector, a private one needs this machine in the VPC)"),
            },
            Failure::Timeout(after) => CoreError::Timeout {
                what: format!("connecting to {server}"),
                after,
                hint: Some(format!("port {SERVER_PROXY_PORT} of the instance did not answer within the connect timeout; check the network and firewall, or the IP type (--cloudsql-ip-type)")),
            },
            Failure::Untrusted(detail) => CoreError::TlsUntrusted {
                server,
                detail,
                hint: "the instance's certificate is not signed by the server CA that the Cloud SQL Admin API gives for it; something between this machine and the instance may be intercepting TLS".into(),
            },
            Failure::OtherInstance(detail) => CoreError::Tls {
                server,
                detail: format!("the server's certificate is not the instance's: {detail}"),
            },
            Failure::Refused(detail) => CoreError::Tls {
                server,
                detail: format!("the instance refused the connector's ephemeral client certificate ({detail}); check that the identity has the role Cloud SQL Client and that this machine's clock is right"),
            },
            Failure::Tls(detail) => CoreError::Tls { server, detail },
            Failure::Renewal(message) => CoreError::config(format!("renewing the connector's certificate for {server} failed: {message}")),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Checks the instance's certificate as Google's connectors do: its chain to the server CA,
/// then its DNS name (CAS CAs) or its common name `project:instance`.
#[derive(Debug)]
struct InstanceVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    common_name: String,
    by_dns_name: bool,
}

impl InstanceVerifier {
    fn new(info: &cloudsql::InstanceInfo, common_name: String) -> Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in &info.server_ca {
            roots.add(ca.clone()).map_err(|e| {
                CoreError::config(format!("the instance's server CA cannot be used: {e}"))
            })?;
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| CoreError::config(format!("the instance's server CA: {e}")))?;
        Ok(Self {
            webpki,
            common_name,
            by_dns_name: info.server_name.is_some(),
        })
    }

    fn check_common_name(
        &self,
        cert: &CertificateDer<'_>,
    ) -> std::result::Result<(), rustls::Error> {
        let cn = cloudsql::common_name(cert.as_ref()).unwrap_or_default();
        if cn == self.common_name {
            return Ok(());
        }
        let why = format!(
            "its common name is `{cn}`, the instance's is `{}`",
            self.common_name
        );
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(std::io::Error::other(why))),
        )))
    }
}

impl ServerCertVerifier for InstanceVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // webpki checks the chain before the name: a wrong name means a trusted chain.
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(v) if self.by_dns_name => Ok(v),
            Ok(v) => self.check_common_name(end_entity).map(|()| v),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => self
                .check_common_name(end_entity)
                .map(|()| ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
