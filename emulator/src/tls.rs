//! https: a local CA and server certificate made at start (or a certificate from PEM files),
//! served with rustls on the `ring` provider, HTTP/1.1 only.

use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::config::TlsSetup;

/// The server side of `--tls`.
pub(crate) struct Tls {
    /// Wraps accepted connections.
    pub acceptor: TlsAcceptor,
    /// The generated CA's PEM file, if the certificate was generated.
    pub ca_file: Option<PathBuf>,
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidInput, msg)
}

/// Builds the acceptor for `setup`; a generated certificate also names `extra_host` (the
/// public URL's host), and its CA is written under `dir` (created here).
pub(crate) fn setup(
    setup: &TlsSetup,
    extra_host: Option<&str>,
    dir: &Path,
) -> std::io::Result<Tls> {
    let (chain, key, ca_file) = match setup {
        TlsSetup::Generate => {
            let (chain, key, ca_pem) = generate(extra_host)
                .map_err(|e| Error::other(format!("generating the emulator's certificate: {e}")))?;
            std::fs::create_dir_all(dir)?;
            let path = dir.join("ca.pem");
            std::fs::write(&path, ca_pem)?;
            (chain, key, Some(path))
        }
        TlsSetup::Files { cert, key } => {
            let (chain, key) = load(cert, key)?;
            (chain, key, None)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::other(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("the TLS certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_file,
    })
}

/// A CA ("aci-emulator local CA") and a server certificate it signs, for `127.0.0.1`,
/// `localhost`, `::1` (and `extra_host`): the chain, the server key and the CA's PEM.
fn generate(
    extra_host: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "aci-emulator local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(h) = extra_host.filter(|h| !names.iter().any(|n| n == h)) {
        names.push(h.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "aci-emulator");
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate()?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    Ok((
        vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        key,
        ca_cert.pem(),
    ))
}

/// The certificate chain and key from PEM files.
fn load(
    cert: &Path,
    key: &Path,
) -> std::io::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| Error::new(e.kind(), format!("reading {}: {e}", p.display())))
    };
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("{}: not a PEM certificate: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(invalid(format!(
            "{}: no certificate in the PEM file",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| invalid(format!("{}: not a PEM private key: {e}", key.display())))?;
    Ok((chain, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_chain_and_ca_file() {
        let dir = std::env::temp_dir().join(format!(
            "aci-emulator-tls-unit-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let tls = setup(&TlsSetup::Generate, Some("aci.example.test"), &dir).unwrap();
        let ca = tls.ca_file.expect("CA file");
        let pem = std::fs::read_to_string(&ca).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(!pem.contains("PRIVATE KEY"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!(
            "aci-emulator-tls-files-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let files = TlsSetup::Files {
            cert: c.clone(),
            key: k.clone(),
        };
        assert!(setup(&files, None, &dir).unwrap().ca_file.is_none());
        let swapped = TlsSetup::Files {
            cert: k.clone(),
            key: c.clone(),
        };
        assert!(setup(&swapped, None, &dir).is_err());
        let missing = TlsSetup::Files {
            cert: dir.join("nope.pem"),
            key: k,
        };
        let e = setup(&missing, None, &dir).err().unwrap();
        assert!(e.to_string().contains("nope.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
