//! AWS Signature Version 4 query signing (a presigned URL), as the AWS SDKs presign: the
//! canonical request, the string to sign, the derived key, HMAC-SHA256 throughout. Checked
//! against published vectors in the tests below.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::secrets::Secret;

/// The SHA-256 of an empty payload, which the SDKs sign for a presigned GET.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// AWS credentials: an access key, its secret and, for temporary ones, a session token.
#[derive(Debug, Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

/// What one presigned GET covers.
pub struct Presign<'a> {
    /// The `Host` header's value (with `:port` when it is not the default).
    pub host: &'a str,
    pub path: &'a str,
    /// The request's own query parameters, unencoded.
    pub params: &'a [(&'a str, &'a str)],
    pub service: &'a str,
    pub region: &'a str,
    pub expires_secs: u64,
    /// The payload hash signed ([`EMPTY_PAYLOAD_SHA256`], or `UNSIGNED-PAYLOAD` for S3).
    pub payload_hash: &'a str,
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// URI encoding as SigV4 wants it: unreserved characters kept, everything else `%XX`.
pub fn uri_encode(s: &str) -> String {
    crate::cloudauth::http::form_encode(s)
}

/// `YYYYMMDDTHHMMSSZ` of `t` (UTC).
pub fn amz_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The presigned query string (`...&X-Amz-Signature=...`) of `p`, signed at `now`.
pub fn presign(p: &Presign<'_>, creds: &AwsCredentials, now: SystemTime) -> String {
    let date_time = amz_date(now);
    let date = &date_time[..8];
    let scope = format!("{date}/{}/{}/aws4_request", p.region, p.service);
    let credential = format!("{}/{scope}", creds.access_key_id);
    let expires = p.expires_secs.to_string();
    let mut params: Vec<(String, String)> = p
        .params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    params.push(("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()));
    params.push(("X-Amz-Credential".into(), credential));
    params.push(("X-Amz-Date".into(), date_time.clone()));
    params.push(("X-Amz-Expires".into(), expires));
    if let Some(token) = &creds.session_token {
        params.push(("X-Amz-Security-Token".into(), token.expose().to_string()));
    }
    params.push(("X-Amz-SignedHeaders".into(), "host".into()));
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    encoded.sort();
    let query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "GET\n{}\n{query}\nhost:{}\n\nhost\n{}",
        p.path, p.host, p.payload_hash
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = [date, p.region, p.service, "aws4_request"].iter().fold(
        format!("AWS4{}", creds.secret_access_key.expose()).into_bytes(),
        |k, part| hmac_sha256(&k, part.as_bytes()).to_vec(),
    );
    let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
    format!("{query}&X-Amz-Signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(amz_date(at(1_369_353_600)), "20130524T000000Z");
        assert_eq!(amz_date(at(1_532_290_956)), "20180722T202236Z");
        assert_eq!(amz_date(at(951_782_400)), "20000229T000000Z");
    }

    /// The presigned URL example of the S3 documentation ("Authenticating Requests: Using
    /// Query Parameters").
    #[test]
    fn s3_presign_example() {
        let creds = AwsCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: None,
        };
        let q = presign(
            &Presign {
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                params: &[],
                service: "s3",
                region: "us-east-1",
                expires_secs: 86_400,
                payload_hash: "UNSIGNED-PAYLOAD",
            },
            &creds,
            at(1_369_353_600),
        );
        assert!(
            q.ends_with(
                "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            ),
            "{q}"
        );
    }

    /// An RDS IAM token vector (query, canonical request and signature) published with an
    /// independent signer (Perl's Signer::AWSv4::RDS test suite).
    #[test]
    fn rds_token_vector() {
        let creds = AwsCredentials {
            access_key_id: "AKIAKIAKIAKIAKIAKIAK".into(),
            secret_access_key: Secret::new("1111111111111111111111111111111111111111"),
            session_token: None,
        };
        let q = presign(
            &Presign {
                host: "mydb.c1fycpveg7nf.us-west-2.rds.amazonaws.com:3306",
                path: "/",
                params: &[("Action", "connect"), ("DBUser", "mysqluser")],
                service: "rds-db",
                region: "eu-west-1",
                expires_secs: 900,
                payload_hash: EMPTY_PAYLOAD_SHA256,
            },
            &creds,
            at(1_532_290_956),
        );
        assert_eq!(
            q,
            "Action=connect&DBUser=mysqluser&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAKIAKIAKIAKIAKIAK%2F20180722%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20180722T202236Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=b77c366f1379046852039d21f733035fa73696275c03dd2908ef267c3049d831"
        );
    }
}
