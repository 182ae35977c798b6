//! TLS to the PostgreSQL state, chosen by the URL the way libpq reads it: `sslmode` and
//! `sslrootcert`, which the `postgres` crate does not know (or knows only in part), are taken
//! out of the URL here and the rest is left to it.
//!
//! - `disable`: plain TCP.
//! - `prefer`, the default (as in libpq): TLS when the server offers it, plain otherwise; the
//!   certificate is not checked.
//! - `require`: TLS or no connection; the certificate is not checked (libpq does the same: the
//!   traffic is encrypted, the server's identity is the network's business). With
//!   `sslrootcert` it is checked, as `verify-full` does.
//! - `verify-full`: TLS, with the server's certificate checked against `sslrootcert` (a PEM
//!   file) or, without one, the Mozilla root certificates, and its name against the host.
//! - `verify-ca` (chain but not name) is refused with a hint: rustls always checks the name.
//!
//! It holds no query and no policy beyond that mapping.

use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How sessions to the state are secured.
#[derive(Clone)]
pub enum Tls {
    Off,
    On(MakeRustlsConnect),
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tls::Off => "Tls::Off",
            Tls::On(_) => "Tls::On",
        })
    }
}

/// The URL without `sslmode`/`sslrootcert`, the mode to give the `postgres` crate, and the TLS
/// to connect with. Errors are messages for `StateError::InvalidUrl`.
pub fn split(url: &str) -> Result<(String, SslMode, Tls), String> {
    let (rest, mode, root) = take_params(url);
    let root = root.map(|p| load_roots(&p)).transpose()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (ssl_mode, tls) = match (mode.as_deref(), root) {
        (Some("disable"), None) => (SslMode::Disable, Tls::Off),
        (Some("disable"), Some(_)) => {
            return Err("sslrootcert is set but sslmode=disable turns TLS off".into());
        }
        (None | Some("prefer"), None) => (SslMode::Prefer, unchecked(provider)?),
        (Some("require"), None) => (SslMode::Require, unchecked(provider)?),
        (None | Some("prefer" | "require" | "verify-full"), Some(roots)) => {
            (SslMode::Require, checked(provider, roots)?)
        }
        (Some("verify-full"), None) => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            (SslMode::Require, checked(provider, roots)?)
        }
        (Some("verify-ca"), _) => {
            return Err("sslmode=verify-ca is not supported (the server name is always checked): use sslmode=verify-full, or require".into());
        }
        (Some(other), _) => {
            return Err(format!(
                "sslmode={other} is not one of disable, prefer, require, verify-full"
            ));
        }
    };
    Ok((rest, ssl_mode, tls))
}

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query or a `key=value`
/// connection string.
fn take_params(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root = Some(value);
            true
        }
        _ => false,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if is_url {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_owned(), None, None);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k, decode(v))
            })
            .collect();
        let rest = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        return (rest, mode, root);
    }
    let kept: Vec<&str> = url
        .split_whitespace()
        .filter(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            !take(k.trim(), v.trim_matches('\'').to_owned())
        })
        .collect();
    (kept.join(" "), mode, root)
}

/// Percent-decoding of a query value (`%2F` -> `/`, `+` left as is).
fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn load_roots(path: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in the file"));
    }
    Ok(roots)
}

fn checked(provider: Arc<CryptoProvider>, roots: RootCertStore) -> Result<Tls, String> {
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Tls::On(MakeRustlsConnect::new(config)))
}

fn unchecked(provider: Arc<CryptoProvider>) -> Result<Tls, String> {
    let verifier = Arc::new(Unchecked(provider.clone()));
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Tls::On(MakeRustlsConnect::new(config)))
}

/// `require`/`prefer` without a root certificate: any certificate is taken (libpq's meaning of
/// those modes), but the handshake's signatures are still verified, so the session is
/// encrypted with the key of the certificate presented.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_params_leave_the_url_and_the_rest_stays() {
        let (rest, mode, root) = take_params(
            "postgres://u:p@h:5/db?sslmode=require&application_name=x&sslrootcert=%2Ftmp%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p@h:5/db?application_name=x");
        assert_eq!(mode.as_deref(), Some("require"));
        assert_eq!(root.as_deref(), Some("/tmp/ca.pem"));
        let (rest, mode, _) = take_params("host=h sslmode=verify-full user=u");
        assert_eq!(
            (rest.as_str(), mode.as_deref()),
            ("host=h user=u", Some("verify-full"))
        );
        let (rest, mode, root) = take_params("postgres://h/db");
        assert_eq!((rest.as_str(), mode, root), ("postgres://h/db", None, None));
    }

    #[test]
    fn modes_map_to_tls_or_clear_errors() {
        let mode = |url: &str| split(url).map(|(_, m, t)| (m, matches!(t, Tls::On(_))));
        assert_eq!(mode("postgres://h/db"), Ok((SslMode::Prefer, true)));
        assert_eq!(
            mode("postgres://h/db?sslmode=disable"),
            Ok((SslMode::Disable, false))
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=prefer"),
            Ok((SslMode::Prefer, true))
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=require"),
            Ok((SslMode::Require, true))
        );
        assert_eq!(
            mode("postgres://h/db?sslmode=verify-full"),
            Ok((SslMode::Require, true))
        );
        assert!(
            mode("postgres://h/db?sslmode=verify-ca")
                .unwrap_err()
                .contains("verify-full")
        );
        assert!(
            mode("postgres://h/db?sslmode=always")
                .unwrap_err()
                .contains("not one of")
        );
        let missing = mode("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem");
        assert!(missing.unwrap_err().contains("/nonexistent.pem"));
    }
}
