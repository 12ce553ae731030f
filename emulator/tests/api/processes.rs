//! Container processes: reaped on shutdown, drop and reset.

use crate::common::*;

#[tokio::test]
async fn processes_are_reaped_on_shutdown_drop_and_reset() {
    async fn start_sleeper(emu: &Emulator, name: &str) -> i32 {
        let arm = Arm::new(emu).await;
        let path = cg("rg", name);
        assert_eq!(
            arm.put(
                &path,
                &job(&["sh", "-c", "echo pid $$; exec sleep 300"], "Always")
            )
            .await
            .status,
            201
        );
        wait_log_line(&arm, &path, "pid ").await.parse().unwrap()
    }
    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "a").await;
    emu.shutdown().await;
    assert!(!pid_exists(pid), "shutdown reaps");

    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "b").await;
    drop(emu);
    assert!(!pid_exists(pid), "drop reaps");

    let emu = Emulator::start(config()).await.unwrap();
    let pid = start_sleeper(&emu, "c").await;
    assert_eq!(emu.stats().live_groups.len(), 1);
    emu.reset();
    assert!(!pid_exists(pid), "reset reaps");
    let s = emu.stats();
    assert!(s.live_groups.is_empty() && s.requests.is_empty() && s.live_processes == 0);

    // The HTTP control routes do the same.
    let auth = control_auth(&emu);
    let control = |method: &'static str, route: &str| {
        let url = format!("{}/_emulator/{route}", emu.base_url());
        let auth = auth.clone();
        async move {
            request(&url, method, &[("authorization", &auth)], None)
                .await
                .unwrap()
        }
    };
    let pid = start_sleeper(&emu, "d").await;
    let stats = control("GET", "stats").await.json();
    assert_eq!(stats["live_processes"], 1);
    assert_eq!(stats["live_groups"].as_array().unwrap().len(), 1);
    assert!(
        stats["requests"]["ContainerGroups_CreateOrUpdate"]["201"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(stats["total_requests"].as_u64().unwrap() >= 2);
    assert_eq!(control("POST", "reset").await.status, 200);
    assert!(!pid_exists(pid), "HTTP reset reaps");
    let stats = control("GET", "stats").await.json();
    assert_eq!(stats["total_requests"], 0);
    emu.shutdown().await;
}
