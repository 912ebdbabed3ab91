//! The Cloud SQL Admin API as Google's connectors use it: the instance's connect settings
//! (`GET .../connectSettings`: its addresses, the CA of its server certificate, its DNS name and
//! CA mode, its database version) and an ephemeral client certificate for a public key of ours
//! (`POST ...:generateEphemeralCert`, about an hour long, with the login token so that the
//! instance knows the IAM user). The key is RSA 2048, made once per connector, as the
//! connectors make it. `BSI_CLOUDSQL_ADMIN_URL` replaces `https://sqladmin.googleapis.com`
//! (tests point it at an emulator). Tokens are sent, never logged.

use std::time::{Duration, SystemTime};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::http::{self, Request};
use super::{TokenSource, describe_error_body};
use crate::error::{CoreError, Result};
use crate::profile::CloudsqlIpType;

/// The OAuth2 scope of the Cloud SQL Admin API.
pub const ADMIN_SCOPE: &str = "https://www.googleapis.com/auth/sqlservice.admin";
/// The Cloud SQL Admin API.
pub const ADMIN_URL: &str = "https://sqladmin.googleapis.com";
/// The variable that replaces [`ADMIN_URL`].
pub const ADMIN_URL_VAR: &str = "BSI_CLOUDSQL_ADMIN_URL";
/// The port of an instance's server-side proxy, which speaks TLS first.
pub const SERVER_PROXY_PORT: u16 = 3307;
const TIMEOUT: Duration = Duration::from_secs(20);
const ROLE_HINT: &str = "check that the Cloud SQL Admin API is enabled in the project and that \
     the identity has the role Cloud SQL Client (roles/cloudsql.client)";

/// An instance connection name: `project:region:instance` (the project may be
/// `domain:project`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceName {
    pub project: String,
    pub region: String,
    pub name: String,
}

impl InstanceName {
    pub fn parse(s: &str) -> Result<InstanceName> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let (project, region, name) = match parts[..] {
            [p, r, n] => (p.to_string(), r, n),
            [d, p, r, n] if !d.is_empty() && !p.is_empty() => (format!("{d}:{p}"), r, n),
            _ => (String::new(), "", ""),
        };
        if project.is_empty() || region.is_empty() || name.is_empty() {
            return Err(CoreError::config(format!(
                "`{s}` is not a Cloud SQL instance connection name; give \
                 project:region:instance (`gcloud sql instances describe INSTANCE --format \
                 'value(connectionName)'` prints it)"
            )));
        }
        Ok(InstanceName {
            project,
            region: region.to_string(),
            name: name.to_string(),
        })
    }

    /// `project:instance`: the common name of the server certificate of an instance whose CA
    /// is Google's per-instance one.
    pub fn common_name(&self) -> String {
        format!("{}:{}", self.project, self.name)
    }
}

impl std::fmt::Display for InstanceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.project, self.region, self.name)
    }
}

/// The connector's RSA 2048 key: the private half for TLS, the public half (PEM,
/// SubjectPublicKeyInfo) for the Admin API to certify.
pub struct ClientKey {
    pkcs8: Vec<u8>,
    public_pem: String,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientKey(<redacted>)")
    }
}

impl ClientKey {
    /// A new key (CPU-bound for a fraction of a second: call it from a blocking thread).
    pub fn generate() -> Result<ClientKey> {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let fail = |e: String| CoreError::Internal(format!("making the RSA client key: {e}"));
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .map_err(|e| fail(e.to_string()))?;
        let pkcs8 = key.to_pkcs8_der().map_err(|e| fail(e.to_string()))?;
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| fail(e.to_string()))?;
        Ok(ClientKey {
            pkcs8: pkcs8.as_bytes().to_vec(),
            public_pem,
        })
    }

    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8.clone()))
    }

    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

/// What connecting to an instance takes, as the Admin API gave it.
#[derive(Debug, Clone)]
pub struct InstanceInfo {
    /// The address to dial on [`SERVER_PROXY_PORT`]: an IP, or the DNS name for PSC.
    pub address: String,
    /// The CA certificates the server's certificate must chain to.
    pub server_ca: Vec<CertificateDer<'static>>,
    /// The DNS name the server certificate is checked for (instances whose CA is a CAS one);
    /// `None`: the certificate's common name must be `project:instance`.
    pub server_name: Option<String>,
    pub database_version: String,
    /// The ephemeral client certificate for our key.
    pub client_cert: CertificateDer<'static>,
    /// When the certificate (or the token it carries) expires, whichever is first.
    pub expires_at: SystemTime,
}

/// The Admin API's base URL (`BSI_CLOUDSQL_ADMIN_URL` or Google's).
fn base(src: &TokenSource) -> String {
    src.var(ADMIN_URL_VAR)
        .unwrap_or_else(|| ADMIN_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// Asks the Admin API for the connect settings of `inst` and an ephemeral certificate for
/// `key`, and picks the address of `ip_type`.
pub async fn fetch_instance(
    src: &TokenSource,
    inst: &InstanceName,
    ip_type: CloudsqlIpType,
    key: &ClientKey,
) -> Result<InstanceInfo> {
    let base = base(src);
    let admin = src.admin_token().await?;
    let login = src.token_entry("", 0, "").await?;
    let path = format!(
        "{base}/sql/v1beta4/projects/{}/instances/{}",
        inst.project, inst.name
    );
    let settings_url = format!("{path}/connectSettings");
    let req = Request::get(&settings_url, TIMEOUT)
        .header("Authorization", format!("Bearer {}", admin.expose()));
    let settings = call(inst, &settings_url, req).await?;

    let region = settings.get("region").and_then(|v| v.as_str());
    if let Some(region) = region.filter(|r| *r != inst.region) {
        return Err(CoreError::config(format!(
            "the Cloud SQL instance `{inst}` is in the region `{region}`, not `{}`; fix the \
             instance connection name",
            inst.region
        )));
    }
    let text = |k: &str| {
        settings
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let version = text("databaseVersion").unwrap_or_default().to_string();
    if !version.is_empty() && !version.starts_with("POSTGRES") {
        return Err(CoreError::config(format!(
            "the Cloud SQL instance `{inst}` runs {version}, not PostgreSQL"
        )));
    }
    let address = pick_address(&settings, inst, ip_type)?;
    let ca_pem = settings
        .get("serverCaCert")
        .and_then(|c| c.get("cert"))
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let server_ca = pem_certs(ca_pem);
    if server_ca.is_empty() {
        return Err(CoreError::config(format!(
            "the Cloud SQL Admin API gave no server CA certificate for `{inst}` \
             (serverCaCert.cert at {settings_url})"
        )));
    }
    // Instances whose server certificates come from a CAS CA are checked for their DNS name;
    // those of Google's per-instance CA (the default) for `project:instance`.
    let cas = text("serverCaMode").is_some_and(|m| m.ends_with("_CAS_CA"));
    let server_name = text("dnsName")
        .filter(|_| cas)
        .map(|n| n.trim_end_matches('.').to_string());

    let cert_url = format!("{path}:generateEphemeralCert");
    let body = serde_json::json!({
        "public_key": key.public_pem(),
        "access_token": login.secret.expose(),
    })
    .to_string();
    let req = Request {
        method: "POST",
        url: cert_url.clone(),
        headers: vec![
            ("Authorization".into(), format!("Bearer {}", admin.expose())),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.into_bytes(),
        timeout: TIMEOUT,
    };
    let answer = call(inst, &cert_url, req).await?;
    let cert_pem = answer
        .get("ephemeralCert")
        .and_then(|c| c.get("cert"))
        .and_then(|c| c.as_str())
        .unwrap_or_default();
    let Some(client_cert) = pem_certs(cert_pem).into_iter().next() else {
        return Err(CoreError::config(format!(
            "the Cloud SQL Admin API answered {cert_url} without an ephemeral certificate \
             (ephemeralCert.cert)"
        )));
    };
    let not_after = not_after(&client_cert).ok_or_else(|| {
        CoreError::config(format!(
            "the ephemeral certificate from {cert_url} cannot be read as X.509"
        ))
    })?;
    Ok(InstanceInfo {
        address,
        server_ca,
        server_name,
        database_version: version,
        client_cert,
        expires_at: not_after.min(login.expires_at),
    })
}

/// The address of `ip_type` in the connect settings: `PRIMARY` is the public IP, `PRIVATE`
/// the private one, the DNS name of a PSC-enabled instance its PSC address.
fn pick_address(
    settings: &serde_json::Value,
    inst: &InstanceName,
    ip_type: CloudsqlIpType,
) -> Result<String> {
    let mut found: Vec<(CloudsqlIpType, String)> = Vec::new();
    for ip in settings
        .get("ipAddresses")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let addr = ip.get("ipAddress").and_then(|a| a.as_str()).unwrap_or("");
        let kind = match ip.get("type").and_then(|t| t.as_str()) {
            Some("PRIMARY") => CloudsqlIpType::Public,
            Some("PRIVATE") => CloudsqlIpType::Private,
            _ => continue,
        };
        if !addr.is_empty() {
            found.push((kind, addr.to_string()));
        }
    }
    let psc = settings.get("pscEnabled").and_then(|v| v.as_bool()) == Some(true);
    if let Some(dns) = settings.get("dnsName").and_then(|v| v.as_str())
        && psc
        && !dns.is_empty()
    {
        found.push((CloudsqlIpType::Psc, dns.trim_end_matches('.').to_string()));
    }
    if let Some((_, addr)) = found.iter().find(|(k, _)| *k == ip_type) {
        return Ok(addr.clone());
    }
    let has: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    Err(CoreError::config(format!(
        "the Cloud SQL instance `{inst}` has no {} address (it has: {}); choose another with \
         --cloudsql-ip-type (public, private, psc), or reach it through a Cloud SQL Auth Proxy \
         (--cloudsql-route proxy)",
        ip_type.as_str(),
        if has.is_empty() {
            "none".to_string()
        } else {
            has.join(", ")
        }
    )))
}

/// Sends an Admin API request and reads its JSON answer.
async fn call(inst: &InstanceName, url: &str, req: Request) -> Result<serde_json::Value> {
    let r = http::send(req).await.map_err(|e| CoreError::Unreachable {
        server: url.to_string(),
        cause: format!("the Cloud SQL Admin API could not be reached for `{inst}`: {e}"),
    })?;
    if r.status != 200 {
        let fix = match r.status {
            401 | 403 => ROLE_HINT,
            404 => "check the instance connection name (project:region:instance)",
            _ => "try again later",
        };
        return Err(CoreError::config(format!(
            "the Cloud SQL Admin API refused {url} for `{inst}` with HTTP {}: {}; {fix}",
            r.status,
            describe_error_body(&r.body)
        )));
    }
    serde_json::from_str(&r.body).map_err(|_| {
        CoreError::config(format!(
            "the Cloud SQL Admin API answered {url} with something that is not JSON"
        ))
    })
}

/// The certificates of a PEM text.
fn pem_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .filter_map(std::result::Result::ok)
        .collect()
}

fn not_after(cert: &CertificateDer<'_>) -> Option<SystemTime> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let secs = u64::try_from(c.validity().not_after.timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// The common name of a certificate's subject.
pub fn common_name(cert: &[u8]) -> Option<String> {
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = c.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_parse_with_domain_scoped_projects() {
        let i = InstanceName::parse("proj:europe-west1:db").unwrap();
        assert_eq!((i.project.as_str(), i.name.as_str()), ("proj", "db"));
        assert_eq!(i.common_name(), "proj:db");
        let d = InstanceName::parse("example.com:proj:us-central1:db").unwrap();
        assert_eq!(d.project, "example.com:proj");
        assert_eq!(d.to_string(), "example.com:proj:us-central1:db");
        assert!(InstanceName::parse("proj:db").is_err());
        assert!(InstanceName::parse("proj::db").is_err());
    }

    #[test]
    fn addresses_are_picked_by_type() {
        let inst = InstanceName::parse("p:r:i").unwrap();
        let s = serde_json::json!({"ipAddresses": [
            {"type": "PRIMARY", "ipAddress": "34.1.2.3"},
            {"type": "PRIVATE", "ipAddress": "10.0.0.5"}],
            "dnsName": "abc.r.sql.goog.", "pscEnabled": false});
        let pick = |t| pick_address(&s, &inst, t);
        assert_eq!(pick(CloudsqlIpType::Public).unwrap(), "34.1.2.3");
        assert_eq!(pick(CloudsqlIpType::Private).unwrap(), "10.0.0.5");
        let e = pick(CloudsqlIpType::Psc).unwrap_err().to_string();
        assert!(
            e.contains("no psc address (it has: public, private)"),
            "{e}"
        );
        let psc = serde_json::json!({"dnsName": "abc.r.sql.goog.", "pscEnabled": true});
        assert_eq!(
            pick_address(&psc, &inst, CloudsqlIpType::Psc).unwrap(),
            "abc.r.sql.goog"
        );
    }
}
