//! Lists and paging, resource groups, request validation, secrets never echoed.

use crate::common::*;

#[tokio::test]
async fn list_pages_without_instance_views() {
    let emu = Emulator::start(EmulatorConfig {
        page_size: 2,
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    for i in 0..5 {
        assert_eq!(
            arm.put(&cg("rg1", &format!("g{i}")), &job(&["true"], "Never"))
                .await
                .status,
            201
        );
    }
    assert_eq!(
        arm.put(&cg("rg2", "other"), &job(&["true"], "Never"))
            .await
            .status,
        201
    );
    let collect = |first: String| {
        let arm = &arm;
        async move {
            let mut names = Vec::new();
            let mut next = Some(first);
            let mut pages = 0;
            while let Some(url) = next.take() {
                pages += 1;
                assert!(pages < 20, "paging does not end");
                let r = arm.get(&url).await;
                assert_eq!(r.status, 200, "{}", r.text());
                let b = r.json();
                for g in b["value"].as_array().unwrap() {
                    assert!(
                        g["properties"].get("instanceView").is_none(),
                        "list has no instance view"
                    );
                    assert!(g["properties"]["containers"][0]["properties"]
                        .get("instanceView")
                        .is_none());
                    assert!(!serde_json::to_string(g).unwrap().contains("s3cr3t-value"));
                    names.push(g["name"].as_str().unwrap().to_string());
                }
                next = b["nextLink"].as_str().map(String::from);
            }
            (names, pages)
        }
    };
    let (names, pages) = collect(arm.url(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg1/providers/Microsoft.ContainerInstance/containerGroups"))).await;
    assert_eq!(names, vec!["g0", "g1", "g2", "g3", "g4"]);
    assert_eq!(pages, 3);
    let (all, _) =
        collect(arm.url(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/containerGroups"
        )))
        .await;
    assert_eq!(all.len(), 6);
    let (none, _) = collect(
        arm.url("/subscriptions/other-sub/providers/Microsoft.ContainerInstance/containerGroups"),
    )
    .await;
    assert!(none.is_empty());
    // Usage counts the groups of the location.
    let u = arm
        .get(&format!(
            "/subscriptions/{LOCAL_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance/locations/eastus/usages"
        ))
        .await
        .json();
    assert_eq!(u["value"][0]["name"]["value"], "ContainerGroups");
    assert_eq!(u["value"][0]["currentValue"], 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn resource_groups_and_validation() {
    let emu = Emulator::start(EmulatorConfig {
        resource_groups: Some(vec!["Known".into()]),
        ..config()
    })
    .await
    .unwrap();
    let arm = Arm::new(&emu).await;
    let r = arm.put(&cg("unknown", "g"), &job(&["true"], "Never")).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "ResourceGroupNotFound")
    );
    assert_eq!(
        r.json()["error"]["message"],
        "Resource group 'unknown' could not be found."
    );
    assert_eq!(
        arm.get(&cg("unknown", "g")).await.code(),
        "ResourceGroupNotFound"
    );
    assert_eq!(
        arm.put(&cg("known", "g"), &job(&["true"], "Never"))
            .await
            .status,
        201
    );

    let r = arm
        .put(&cg("known", "Bad_Name"), &job(&["true"], "Never"))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidContainerGroupName")
    );
    let mut b = job(&["true"], "Never");
    b["properties"].as_object_mut().unwrap().remove("osType");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let mut b = job(&["true"], "Never");
    b["properties"]["restartPolicy"] = json!("never");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let mut b = job(&["true"], "Never");
    b["properties"]["containers"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    assert_eq!(
        arm.put(&cg("known", "g2"), &b).await.code(),
        "InvalidRequestContent"
    );
    let r = arm.call("PUT", &cg("known", "g2"), None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "InvalidRequestContent")
    );
    assert_eq!(
        arm.get(&cg("known", "g2")).await.status,
        404,
        "nothing was created"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn secure_values_never_echoed() {
    let emu = Emulator::start(config()).await.unwrap();
    let arm = Arm::new(&emu).await;
    let path = cg("rg", "secrets");
    let mut body = job(
        &[
            "sh",
            "-c",
            "case \"$TOKEN\" in s3cr3t-v*e) echo env-ok;; esac",
        ],
        "Never",
    );
    let p = &mut body["properties"];
    p["imageRegistryCredentials"] = json!([{"server": "myreg.azurecr.io", "username": "myreg", "password": "registry-pass-123"}]);
    p["volumes"] = json!([
        {"name": "files", "azureFile": {"shareName": "share", "storageAccountName": "acct", "storageAccountKey": "storage-key-456=="}},
        {"name": "secret-vol", "secret": {"token.txt": "c2VjcmV0LWZpbGUtNzg5"}}
    ]);
    p["diagnostics"] =
        json!({"logAnalytics": {"workspaceId": "ws", "workspaceKey": "workspace-key-000"}});
    let secrets = [
        "s3cr3t-value",
        "registry-pass-123",
        "storage-key-456",
        "c2VjcmV0LWZpbGUtNzg5",
        "workspace-key-000",
    ];
    let check = |what: &str, text: &str| {
        for s in secrets {
            assert!(!text.contains(s), "{what} leaks {s}: {text}");
        }
    };
    let r = arm.put(&path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    check("PUT", &r.text());
    let v = arm
        .wait_for(&path, "done", |v| state(v) == "Succeeded")
        .await;
    check("GET", &v.to_string());
    assert_eq!(v["properties"]["volumes"][1]["secret"], json!({}));
    assert_eq!(
        v["properties"]["imageRegistryCredentials"][0]["username"],
        "myreg"
    );
    let l = arm.get(&format!("/subscriptions/{LOCAL_SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups")).await;
    check("list", &l.text());
    let op = arm.get(r.header("azure-asyncoperation").unwrap()).await;
    check("operation", &op.text());
    let logs = arm.get(&format!("{path}/containers/job/logs")).await.json();
    assert_eq!(
        logs["content"], "env-ok\n",
        "the process still gets the secure value"
    );
    let d = arm.delete(&path).await;
    check("DELETE", &d.text());
    emu.shutdown().await;
}
