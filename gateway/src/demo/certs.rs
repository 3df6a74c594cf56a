//! Demo certificates, like the seed's openssl steps: a CA `quic-corp.com` (O=QUIC Corp) and a
//! leaf for httpbin.quic-corp.com signed by it. rcgen with ring generates ECDSA P-256 keys
//! (the seed's RSA-4096/RSA-2048 pair is made by `examples/seed-openssl.sh` and also served).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

pub const CA_NAME: &str = "quic-corp.com";
pub const HOST: &str = "httpbin.quic-corp.com";
pub const CREDENTIAL: &str = "httpbin-credential";

/// PEM text of a generated CA and leaf.
pub struct DemoCerts {
    pub ca_cert: String,
    pub ca_key: String,
    pub leaf_cert: String,
    pub leaf_key: String,
}

/// Generates a CA and a leaf for `hosts` (the first one is the CN).
pub fn generate(hosts: &[&str]) -> Result<DemoCerts, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "QUIC Corp");
    dn.push(DnType::CommonName, CA_NAME);
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, hosts.first().copied().unwrap_or(HOST));
    dn.push(DnType::OrganizationName, "httpbin organization");
    leaf.distinguished_name = dn;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    Ok(DemoCerts {
        ca_cert: ca_cert.pem(),
        ca_key: ca_key.serialize_pem(),
        leaf_cert: leaf_cert.pem(),
        leaf_key: leaf_key.serialize_pem(),
    })
}

/// Files written by [`write`].
pub struct DemoFiles {
    pub ca_cert: PathBuf,
    pub credential_dir: PathBuf,
    pub secret: PathBuf,
}

/// Writes the CA, the leaf, the credential directory entry and a Secret manifest
/// (`kubectl create secret tls httpbin-credential ... -o yaml` shape) under `dir`.
pub fn write(dir: &Path) -> std::io::Result<DemoFiles> {
    let certs = generate(&[HOST]).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text);
    w(&format!("{CA_NAME}.crt"), &certs.ca_cert)?;
    w(&format!("{CA_NAME}.key"), &certs.ca_key)?;
    w(&format!("{HOST}.crt"), &certs.leaf_cert)?;
    w(&format!("{HOST}.key"), &certs.leaf_key)?;
    let credential_dir = dir.join("credentials");
    std::fs::create_dir_all(&credential_dir)?;
    std::fs::write(
        credential_dir.join(format!("{CREDENTIAL}.crt")),
        &certs.leaf_cert,
    )?;
    std::fs::write(
        credential_dir.join(format!("{CREDENTIAL}.key")),
        &certs.leaf_key,
    )?;
    let secret = dir.join(format!("{CREDENTIAL}.yaml"));
    std::fs::write(&secret, secret_manifest(CREDENTIAL, "istio-system", &certs))?;
    Ok(DemoFiles {
        ca_cert: dir.join(format!("{CA_NAME}.crt")),
        credential_dir,
        secret,
    })
}

/// A Kubernetes TLS Secret manifest for the leaf.
pub fn secret_manifest(name: &str, namespace: &str, certs: &DemoCerts) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\ndata:\n  tls.crt: {}\n  tls.key: {}\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: {name}\n  namespace: {namespace}\ntype: kubernetes.io/tls\n",
        b64(&certs.leaf_cert),
        b64(&certs.leaf_key)
    )
}
