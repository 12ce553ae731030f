//! The emulator is locked down: only its own `Host`, a random per-instance secret, IMDS only
//! when asked and with `Metadata: true`, control routes behind the secret. And it speaks TLS
//! with a certificate it makes, handing out URLs under the scheme and host it was called on.

use std::sync::Arc;

use crate::common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// The OpenID configuration of tenant `t`.
const OPENID: &str = "/t/v2.0/.well-known/openid-configuration";
const TOKEN_FORM: &str =
    "grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";

/// A request with an explicit `Host` header (the test client sends `127.0.0.1:PORT`).
async fn with_host(emu: &Emulator, host: &str, method: &str, path: &str) -> Response {
    let addr = emu.base_url().trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    Response {
        status,
        headers: Vec::new(),
        body,
    }
}

#[tokio::test]
async fn foreign_hosts_are_refused_on_every_route() {
    let emu = Emulator::start(config()).await.unwrap();
    let port = emu.base_url().rsplit(':').next().unwrap().to_string();
    let put = format!("{}?api-version={API}", cg("rg", "x"));
    for host in [
        "attacker.example".to_string(),
        format!("attacker.example:{port}"),
        format!("127.0.0.2:{port}"),
        "127.0.0.1".to_string(),
    ] {
        for (method, path) in [
            ("PUT", put.as_str()),
            ("GET", "/_emulator/stats"),
            ("POST", "/t/oauth2/v2.0/token"),
            ("GET", OPENID),
        ] {
            let r = with_host(&emu, &host, method, path).await;
            assert_eq!(r.status, 421, "{method} {path} with Host {host}");
            assert!(!r.text().contains("attacker"), "the Host is not echoed");
        }
    }
    let local = format!("localhost:{port}");
    let r = with_host(&emu, &local, "GET", OPENID).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["token_endpoint"],
        format!("http://localhost:{port}/t/oauth2/v2.0/token"),
        "URLs use the host the request came in on"
    );
    assert_eq!(
        emu.stats().total_requests,
        1,
        "refused requests never reach a route"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_token_endpoint_needs_the_instance_secret() {
    let emu = Emulator::start(config()).await.unwrap();
    let other = Emulator::start(config()).await.unwrap();
    let secret = emu.credentials().client_secret;
    assert_ne!(
        secret,
        other.credentials().client_secret,
        "random per instance"
    );
    let url = format!("{}/{LOCAL_TENANT_ID}/oauth2/v2.0/token", emu.base_url());
    let post = |form: String| {
        let url = url.clone();
        async move {
            let h = [("content-type", "application/x-www-form-urlencoded")];
            request(&url, "POST", &h, Some(form.as_bytes()))
                .await
                .unwrap()
        }
    };
    let with = |s: &str| format!("{TOKEN_FORM}&client_id={LOCAL_CLIENT_ID}&client_secret={s}");
    for wrong in ["", "local-secret", &other.credentials().client_secret] {
        let r = post(with(wrong)).await;
        assert_eq!(r.status / 100, 4, "secret {wrong:?}: {}", r.text());
    }
    // No unverified assertion is accepted unless configured.
    let assertion = "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z";
    let r = post(format!(
        "{TOKEN_FORM}&client_id={LOCAL_CLIENT_ID}&{assertion}"
    ))
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = post(with(&secret)).await;
    assert_eq!(r.status, 200, "the documented secret works");
    assert!(r.json()["access_token"].is_string());
    other.shutdown().await;
    emu.shutdown().await;
}

#[tokio::test]
async fn imds_needs_to_be_on_and_the_metadata_header() {
    let imds = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F";
    let off = Emulator::start(config()).await.unwrap();
    let url = format!("{}{imds}", off.base_url());
    let r = request(&url, "GET", &[("metadata", "true")], None)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error_description"], "Identity not found");
    off.shutdown().await;

    let on = Emulator::start(EmulatorConfig {
        imds: true,
        ..config()
    })
    .await
    .unwrap();
    let url = format!("{}{imds}", on.base_url());
    let r = request(&url, "GET", &[], None).await.unwrap();
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("bad_request_102"))
    );
    let r = request(&url, "GET", &[("metadata", "true")], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    on.shutdown().await;
}

#[tokio::test]
async fn control_routes_need_the_secret() {
    let emu = Emulator::start(config()).await.unwrap();
    let token = format!("Bearer {}", get_token(&emu).await);
    let stats = format!("{}/_emulator/stats", emu.base_url());
    let reset = format!("{}/_emulator/reset", emu.base_url());
    for auth in [None, Some(token.as_str()), Some("Bearer local-secret")] {
        let h: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        assert_eq!(request(&stats, "GET", &h, None).await.unwrap().status, 401);
        assert_eq!(request(&reset, "POST", &h, None).await.unwrap().status, 401);
    }
    let secret = control_auth(&emu);
    let ok = request(&stats, "GET", &[("authorization", &secret)], None)
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert!(ok.json()["max_live_groups"].is_number());
    emu.shutdown().await;
}

/// An https client that trusts `ca_pem`.
fn tls_client(ca_pem: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// One https request to the emulator (as `name`, `127.0.0.1` or `localhost`); its raw answer.
async fn https_get(emu: &Emulator, name: &str, path: &str, auth: &str) -> String {
    let port = emu.base_url().rsplit(':').next().unwrap().to_string();
    let ca = std::fs::read(emu.ca_cert_path().unwrap()).unwrap();
    let tcp = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let server = ServerName::try_from(name.to_string()).unwrap();
    let mut tls = tls_client(&ca)
        .connect(server, tcp)
        .await
        .expect("handshake");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {name}:{port}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw).into_owned()
}

#[tokio::test]
async fn tls_with_a_generated_certificate() {
    let emu = Emulator::start(EmulatorConfig {
        tls: Some(aci_emulator::TlsSetup::Generate),
        page_size: 1,
        ..config()
    })
    .await
    .unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = emu.ca_cert_path().unwrap().to_path_buf();
    let port = base.rsplit(':').next().unwrap().to_string();
    for name in ["127.0.0.1", "localhost"] {
        let doc = https_get(&emu, name, OPENID, "-").await;
        assert!(doc.starts_with("HTTP/1.1 200"), "{doc}");
        assert!(
            doc.contains(&format!(
                "\"token_endpoint\":\"https://{name}:{port}/t/oauth2/v2.0/token\""
            )),
            "{doc}"
        );
    }
    // A 401 names the authority under the https base it was called on.
    let path = format!("{}?api-version={API}", cg("rg", "x"));
    let denied = https_get(&emu, "localhost", &path, "Bearer nope").await;
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(
        denied.contains(&format!("authorization_uri=\"https://localhost:{port}/")),
        "{denied}"
    );
    // Plain http to the https port gets no answer.
    let plain = request(
        &format!("http://127.0.0.1:{port}/t/v2.0/.well-known/openid-configuration"),
        "GET",
        &[],
        None,
    )
    .await;
    assert!(plain.map(|r| r.status).unwrap_or(0) != 200);
    emu.shutdown().await;
    assert!(!ca.exists(), "the CA file is removed at shutdown");
}

#[tokio::test]
async fn public_url_is_accepted_and_used() {
    let emu = Emulator::start(EmulatorConfig {
        public_url: Some("https://aci.example.test:8443".into()),
        ..config()
    })
    .await
    .unwrap();
    let r = with_host(&emu, "aci.example.test:8443", "GET", OPENID).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["token_endpoint"],
        "https://aci.example.test:8443/t/oauth2/v2.0/token"
    );
    assert_eq!(
        with_host(&emu, "aci.example.test", "GET", OPENID)
            .await
            .status,
        421
    );
    emu.shutdown().await;
    let bad = Emulator::start(EmulatorConfig {
        public_url: Some("https://x/path".into()),
        ..config()
    })
    .await;
    assert!(bad.is_err());
}
