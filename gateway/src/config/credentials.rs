//! TLS credentials named by `credentialName`: a Kubernetes TLS Secret (`tls.crt`/`tls.key`,
//! base64 under `data` or plain under `stringData`) or `<dir>/<name>.crt` + `<name>.key`.

use super::error::Origin;
use super::manifest::SecretManifest;
use base64::Engine;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::path::Path;
use std::sync::Arc;

/// Builds a signing certificate from PEM text (leaf first, then the chain).
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<CertifiedKey>, String> {
    let certs: Vec<CertificateDer<'static>> =
        quic::tls::parse_certs(cert_pem).map_err(|e| format!("certificate: {e}"))?;
    if certs.is_empty() {
        return Err("certificate: no CERTIFICATE block".into());
    }
    let key: PrivateKeyDer<'static> =
        quic::tls::parse_private_key(key_pem).map_err(|e| format!("private key: {e}"))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("private key: {e}"))?;
    let certified = CertifiedKey::new(certs, signing);
    match certified.keys_match() {
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err("certificate and private key do not match".into());
        }
        // The seed's `openssl x509 -req` writes an X.509 v1 leaf, which webpki cannot parse
        // to compare keys; clients (curl/OpenSSL) accept it, so it is served.
        Err(e) => tracing::debug!("could not compare certificate and key: {e}"),
        Ok(()) => {}
    }
    Ok(Arc::new(certified))
}

/// Where a credential was found, and its key.
pub struct Found {
    pub key: Arc<CertifiedKey>,
    pub source: String,
}

/// Looks `name` up among the Secrets (preferring `namespace`), then in `directory`.
pub fn resolve(
    name: &str,
    namespace: &str,
    secrets: &[(Origin, SecretManifest)],
    directory: Option<&Path>,
) -> Result<Found, String> {
    let mut candidates: Vec<&(Origin, SecretManifest)> = secrets
        .iter()
        .filter(|(_, s)| s.metadata.name == name)
        .collect();
    candidates.sort_by_key(|(_, s)| s.metadata.namespace.as_deref() != Some(namespace));
    if let Some((origin, secret)) = candidates.first() {
        let (cert, key) =
            secret_pem(secret).map_err(|e| format!("Secret {name} ({origin}): {e}"))?;
        let key =
            certified_key(&cert, &key).map_err(|e| format!("Secret {name} ({origin}): {e}"))?;
        return Ok(Found {
            key,
            source: format!("Secret {name} ({})", origin.file.display()),
        });
    }
    if let Some(dir) = directory {
        let cert_path = dir.join(format!("{name}.crt"));
        let key_path = dir.join(format!("{name}.key"));
        if cert_path.exists() || key_path.exists() {
            let cert =
                std::fs::read(&cert_path).map_err(|e| format!("{}: {e}", cert_path.display()))?;
            let key =
                std::fs::read(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
            let key = certified_key(&cert, &key)
                .map_err(|e| format!("{} / {}: {e}", cert_path.display(), key_path.display()))?;
            return Ok(Found {
                key,
                source: cert_path.display().to_string(),
            });
        }
    }
    Err(match directory {
        Some(dir) => format!(
            "credential `{name}` not found: no Secret named `{name}` in the configuration and no {}/{name}.crt",
            dir.display()
        ),
        None => format!(
            "credential `{name}` not found: no Secret named `{name}` in the configuration (and no credentialDirectory in the settings)"
        ),
    })
}

fn secret_pem(secret: &SecretManifest) -> Result<(Vec<u8>, Vec<u8>), String> {
    if let Some(t) = &secret.secret_type {
        if t != "kubernetes.io/tls" && t != "Opaque" {
            return Err(format!("type `{t}` is not kubernetes.io/tls"));
        }
    }
    let field = |key: &str| -> Result<Vec<u8>, String> {
        if let Some(plain) = secret.string_data.get(key) {
            return Ok(plain.clone().into_bytes());
        }
        let encoded = secret
            .data
            .get(key)
            .ok_or_else(|| format!("field `data.{key}` is missing"))?;
        let compact: String = encoded.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| format!("field `data.{key}` is not base64: {e}"))
    };
    Ok((field("tls.crt")?, field("tls.key")?))
}
