//! Client-certificate assertions: a JWT signed with the certificate's RSA key (RS256), with
//! `x5t` = base64url SHA-1 thumbprint of the certificate (DER), as Entra ID expects for the
//! client-credentials flow with `client_assertion_type=…jwt-bearer`.
//!
//! The PEM given in the connection must hold an unencrypted RSA private key (`PRIVATE KEY`
//! PKCS#8 or `RSA PRIVATE KEY` PKCS#1) and the certificate (`CERTIFICATE`), in any order
//! (the first certificate is the one registered with the application).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::json;
use sha1::Digest;

/// Lifetime of an assertion.
pub const ASSERTION_LIFETIME_SECS: u64 = 600;

/// A certificate credential ready to sign assertions.
#[derive(Clone)]
pub struct ClientCertificate {
    key: RsaPrivateKey,
    /// base64url SHA-1 thumbprint of the certificate.
    pub x5t: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

/// The blocks of a PEM text: `(label, DER bytes)`. Text outside blocks is ignored.
fn pem_blocks(pem: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut lines = pem.lines();
    // Bounded by the number of lines.
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if inner == end {
                closed = true;
                break;
            }
            if inner.contains(':') {
                // RFC 1421 headers (Proc-Type: 4,ENCRYPTED ...).
                if inner.starts_with("Proc-Type") && inner.contains("ENCRYPTED") {
                    return Err(
                        "the private key is encrypted; provide an unencrypted PEM key".into(),
                    );
                }
                continue;
            }
            b64.push_str(inner);
        }
        if !closed {
            return Err(format!("PEM block `{label}` is not terminated"));
        }
        let der = STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| format!("PEM block `{label}` is not valid base64"))?;
        out.push((label.to_string(), der));
    }
    Ok(out)
}

impl ClientCertificate {
    /// Reads the key and certificate from PEM text. Errors never quote the PEM.
    pub fn from_pem(pem: &str) -> Result<ClientCertificate, String> {
        let blocks = pem_blocks(pem)?;
        let mut key = None;
        let mut cert = None;
        for (label, der) in &blocks {
            match label.as_str() {
                "PRIVATE KEY" if key.is_none() => {
                    key = Some(RsaPrivateKey::from_pkcs8_der(der).map_err(|_| {
                        "the PKCS#8 private key is not an RSA key or is malformed".to_string()
                    })?);
                }
                "RSA PRIVATE KEY" if key.is_none() => {
                    key = Some(
                        RsaPrivateKey::from_pkcs1_der(der)
                            .map_err(|_| "the PKCS#1 RSA private key is malformed".to_string())?,
                    );
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(
                        "the private key is encrypted; provide an unencrypted PEM key".into(),
                    );
                }
                "CERTIFICATE" if cert.is_none() => cert = Some(der.clone()),
                _ => {}
            }
        }
        let key = key.ok_or("no PRIVATE KEY or RSA PRIVATE KEY block found")?;
        let cert = cert.ok_or("no CERTIFICATE block found")?;
        Ok(ClientCertificate {
            key,
            x5t: URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert)),
        })
    }

    /// A signed assertion for `client_id` at the token endpoint `audience`, valid from `now`
    /// for [`ASSERTION_LIFETIME_SECS`]; `jti` must be unique (a UUID).
    pub fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        jti: &str,
    ) -> Result<String, String> {
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti,
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone());
        let sig = signer
            .try_sign(signing_input.as_bytes())
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }

    /// The public half of the key (for verifying in tests).
    pub fn public_key(&self) -> rsa::RsaPublicKey {
        self.key.to_public_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::signature::Verifier;

    const PEM: &str = include_str!("../../tests/data/test-client-cert.pem");
    const PEM_PKCS1: &str = include_str!("../../tests/data/test-client-cert-pkcs1.pem");
    /// `openssl x509 -outform DER | openssl sha1 -binary | base64url` of the test certificate.
    const X5T: &str = "ELe3dGQYgSKs6dECj4WvxlIrDXg";

    fn part(jwt: &str, i: usize) -> serde_json::Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(i).unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn assertion_structure_and_signature() {
        let c = ClientCertificate::from_pem(PEM).unwrap();
        assert_eq!(c.x5t, X5T);
        let aud = "https://login.microsoftonline.com/my-tenant/oauth2/v2.0/token";
        let jwt = c
            .assertion("my-client", aud, 1_700_000_000, "jti-1")
            .unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        let h = part(&jwt, 0);
        assert_eq!(h, json!({"alg": "RS256", "typ": "JWT", "x5t": X5T}));
        let claims = part(&jwt, 1);
        assert_eq!(claims["aud"], aud);
        assert_eq!(claims["iss"], "my-client");
        assert_eq!(claims["sub"], "my-client");
        assert_eq!(claims["jti"], "jti-1");
        assert_eq!(claims["nbf"], 1_700_000_000u64);
        assert_eq!(claims["exp"], 1_700_000_600u64);
        // The signature verifies with the key's public half (RS256 = PKCS#1 v1.5 + SHA-256).
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig =
            rsa::pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(sig).unwrap().as_slice())
                .unwrap();
        let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(c.public_key());
        vk.verify(input.as_bytes(), &sig).unwrap();
        assert!(vk.verify(b"tampered", &sig).is_err());
    }

    #[test]
    fn pkcs1_key_gives_same_credential() {
        let a = ClientCertificate::from_pem(PEM).unwrap();
        let b = ClientCertificate::from_pem(PEM_PKCS1).unwrap();
        assert_eq!(a.x5t, b.x5t);
        assert_eq!(a.public_key(), b.public_key());
    }

    #[test]
    fn bad_pems() {
        let key_only: String = PEM
            .split("-----BEGIN CERTIFICATE-----")
            .next()
            .unwrap()
            .to_string();
        assert_eq!(
            ClientCertificate::from_pem(&key_only).unwrap_err(),
            "no CERTIFICATE block found"
        );
        let cert_only = &PEM[PEM.find("-----BEGIN CERTIFICATE-----").unwrap()..];
        assert!(ClientCertificate::from_pem(cert_only)
            .unwrap_err()
            .contains("PRIVATE KEY"));
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(ClientCertificate::from_pem(enc)
            .unwrap_err()
            .contains("encrypted"));
        let unterminated = "-----BEGIN PRIVATE KEY-----\nAAAA\n";
        assert!(ClientCertificate::from_pem(unterminated)
            .unwrap_err()
            .contains("not terminated"));
        let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = ClientCertificate::from_pem(garbage).unwrap_err();
        assert!(!e.contains("AAAA"), "{e}");
    }

    #[test]
    fn debug_hides_key() {
        let c = ClientCertificate::from_pem(PEM).unwrap();
        let d = format!("{c:?}");
        assert!(
            d.contains(X5T) && !d.contains("BigUint") && d.len() < 200,
            "{d}"
        );
    }
}
