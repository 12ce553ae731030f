//! Authentication, api-version, ARM headers, the token endpoint, IMDS and the helper routes.

use crate::common::*;

#[tokio::test]
async fn arm_requires_token_and_api_version() {
    let emu = Emulator::start(config()).await.unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    let path = cg("rg", "x");

    let r = request(&format!("{base}{path}?api-version={API}"), "GET", &[], None)
        .await
        .unwrap();
    assert_eq!((r.status, r.code().as_str()), (401, "AuthenticationFailed"));
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer "));

    let r = request(
        &format!("{base}{path}?api-version={API}"),
        "GET",
        &[("authorization", "Bearer made-up")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "InvalidAuthenticationToken")
    );

    let arm = Arm::new(&emu).await;
    // GET {CG}{query} with a valid token.
    let get = |query: String| {
        let (url, auth) = (format!("{base}{path}{query}"), arm.auth.clone());
        async move {
            request(&url, "GET", &[("authorization", &auth)], None)
                .await
                .unwrap()
        }
    };
    let r = get(String::new()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "MissingApiVersionParameter")
    );
    assert_eq!(
        r.json()["error"]["message"],
        "The api-version query parameter (?api-version=) is required for all requests."
    );
    assert_eq!(get("?api-version=latest".into()).await.status, 400);

    for v in ["2026-07-01", "2024-11-01-preview", "2018-10-01"] {
        let r = get(format!("?api-version={v}")).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (404, "ResourceNotFound"),
            "{v}"
        );
    }

    // Unknown route / method.
    assert_eq!(
        arm.get("/subscriptions/s/providers/Nope/things")
            .await
            .status,
        404
    );
    assert_eq!(arm.post(&path).await.status, 405);
    emu.shutdown().await;
}

#[tokio::test]
async fn arm_answers_carry_request_ids_and_rate_limits() {
    let emu = Emulator::start(config()).await.unwrap();
    let base = emu.base_url();
    let path = cg("rg", "x");
    let arm = Arm::new(&emu).await;
    let r = request(
        &format!("{base}{path}?api-version={API}"),
        "GET",
        &[
            ("authorization", &arm.auth),
            ("x-ms-client-request-id", "my-trace-1"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.header("x-ms-client-request-id"), Some("my-trace-1"));
    assert!(r.header("x-ms-request-id").is_some());
    assert!(r.header("x-ms-correlation-request-id").is_some());
    let reads: u64 = r
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reads < 250);
    assert!(r
        .header("x-ms-ratelimit-remaining-subscription-global-reads")
        .is_some());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let r2 = arm.get(&path).await;
    let reads2: u64 = r2
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reads2 < reads, "bucket drains: {reads2} < {reads}");
    let w = arm.delete(&path).await;
    assert!(w
        .header("x-ms-ratelimit-remaining-subscription-deletes")
        .is_some());

    emu.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_errors_are_aad_shaped() {
    let emu = Emulator::start(config()).await.unwrap();
    let url = format!("{}/{LOCAL_TENANT_ID}/oauth2/v2.0/token", emu.base_url());
    let secret = emu.credentials().client_secret;
    let post = |body: String| {
        let url = url.clone();
        async move {
            request(
                &url,
                "POST",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(body.as_bytes()),
            )
            .await
            .unwrap()
        }
    };
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret=wrong&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")).await;
    assert_eq!(r.status, 401);
    let b = r.json();
    assert_eq!(b["error"], "invalid_client");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));
    assert_eq!(b["error_codes"][0], 7000215);
    assert!(!r.text().contains("wrong"));
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={secret}&scope=https%3A%2F%2Fmanagement.azure.com%2F")).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap()),
        (400, "invalid_scope")
    );
    let r = post(format!("grant_type=authorization_code&client_id={LOCAL_CLIENT_ID}&client_secret={secret}&scope=x%2F.default")).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    // A token for another resource is refused by ARM.
    let r = post(format!("grant_type=client_credentials&client_id={LOCAL_CLIENT_ID}&client_secret={secret}&scope=https%3A%2F%2Fvault.azure.net%2F.default")).await;
    let vault = r.json()["access_token"].as_str().unwrap().to_string();
    let r = request(
        &format!("{}{}?api-version={API}", emu.base_url(), cg("rg", "x")),
        "GET",
        &[("authorization", &format!("Bearer {vault}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    emu.shutdown().await;
}

#[tokio::test]
async fn imds_token_and_helper_endpoints() {
    let emu = Emulator::start(EmulatorConfig {
        imds: true,
        ..config()
    })
    .await
    .unwrap();
    let base = emu.base_url();
    let imds = format!(
        "{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
    );
    let r = request(&imds, "GET", &[], None).await.unwrap();
    assert_eq!(
        (r.status, r.json()["error"].as_str().unwrap()),
        (400, "bad_request_102")
    );
    let r = request(&imds, "GET", &[("metadata", "true")], None)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b["expires_in"].is_string() && b["expires_on"].is_string());
    let arm = Arm {
        base: base.clone(),
        auth: format!("Bearer {}", b["access_token"].as_str().unwrap()),
    };

    let creds = arm
        .post(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myreg/listCredentials"))
        .await;
    assert_eq!(creds.status, 200);
    let c = creds.json();
    assert_eq!(c["username"], "myreg");
    assert_eq!(c["passwords"].as_array().unwrap().len(), 2);
    let keys = arm
        .post(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/listKeys"))
        .await;
    assert_eq!(keys.status, 200);
    assert_eq!(keys.json()["keys"][0]["keyName"], "key1");
    let stats = emu.stats();
    assert_eq!(stats.count("Imds_Token", 400), 1);
    assert_eq!(stats.count("Imds_Token", 200), 1);
    assert_eq!(stats.count("Registries_ListCredentials", 200), 1);
    assert_eq!(stats.count("StorageAccounts_ListKeys", 200), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn misc_routes() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "misc");
    assert_eq!(
        arm.get(&format!("{path}/outboundNetworkDependenciesEndpoints"))
            .await
            .status,
        404
    );
    assert_eq!(arm.put(&path, &job(&["true"], "Never")).await.status, 201);
    let r = arm
        .get(&format!("{path}/outboundNetworkDependenciesEndpoints"))
        .await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let ops = arm
        .get("/providers/Microsoft.ContainerInstance/operations")
        .await;
    assert_eq!(ops.status, 200);
    assert!(!ops.json()["value"].as_array().unwrap().is_empty());
    let cached = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/cachedImages")).await;
    assert!(cached.json()["value"][0]["image"].is_string());
    let unknown_op = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/operations/nope")).await;
    assert_eq!(unknown_op.status, 404);
    assert_eq!(
        arm.post(&format!("{}/stop", cg("rg", "absent")))
            .await
            .status,
        404
    );
    emu.shutdown().await;
}
