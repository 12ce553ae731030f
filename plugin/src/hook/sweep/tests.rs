//! The sweeper's decisions, without ARM.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;

use super::*;

const MACHINE: &str = "box:0b6e1c5e-0000-4000-8000-000000000001:4026531836";

fn tags(owner: Option<&str>, created: Option<&str>) -> BTreeMap<String, String> {
    let mut t = BTreeMap::from([(TAG_CREATOR.to_string(), "aci-plugin/0.1.0".to_string())]);
    if let Some(o) = owner {
        t.insert(TAG_OWNER.into(), o.into());
    }
    if let Some(c) = created {
        t.insert(TAG_CREATED.into(), c.into());
    }
    t
}

fn opts(live: Option<&[&str]>) -> SweepOptions {
    SweepOptions {
        machine: Some(MACHINE.into()),
        live_processes: live.map(|l| l.iter().map(|s| s.to_string()).collect::<HashSet<_>>()),
        ..SweepOptions::default()
    }
}

#[test]
fn owners_on_this_machine_are_running_or_gone() {
    let mine = format!("{MACHINE}/4242.1234");
    let t = tags(Some(&mine), None);
    assert!(
        matches!(owner_of(&t, &opts(Some(&["4242.1234"]))), Owner::Running(w) if w.contains("process 4242"))
    );
    // Same pid, another start time: the pid was recycled.
    assert!(matches!(
        owner_of(&t, &opts(Some(&["4242.9999"]))),
        Owner::Gone(_)
    ));
    assert!(matches!(owner_of(&t, &opts(Some(&[]))), Owner::Gone(_)));
    // No process list: cannot tell.
    assert!(matches!(owner_of(&t, &opts(None)), Owner::Unknown(_)));
}

#[test]
fn other_machines_and_missing_tags_are_unknown() {
    let elsewhere = tags(Some("other:b:1/4242.1234"), None);
    assert_eq!(
        owner_of(&elsewhere, &opts(Some(&["4242.1234"]))),
        Owner::Unknown("its owner ran on another machine (other)".into())
    );
    assert!(
        matches!(owner_of(&tags(None, None), &opts(Some(&[]))), Owner::Unknown(w) if w.contains("no owner tag"))
    );
    assert!(matches!(
        owner_of(&tags(Some("junk"), None), &opts(Some(&[]))),
        Owner::Unknown(_)
    ));
}

#[test]
fn only_groups_with_our_creator_tag_are_ours() {
    assert!(is_ours(&tags(None, None)));
    assert!(!is_ours(&BTreeMap::new()));
    let foreign = BTreeMap::from([(TAG_CREATOR.to_string(), "someone-else".to_string())]);
    assert!(!is_ours(&foreign));
}

#[test]
fn verdicts_follow_the_owner_then_the_age() {
    let running = Owner::Running("r".into());
    let gone = Owner::Gone("g".into());
    let unknown = Owner::Unknown("u".into());
    assert_eq!(
        judge(&running, Some(99_999), Some(1)),
        Verdict::Keep("r".into())
    );
    assert_eq!(judge(&gone, Some(0), None), Verdict::Delete("g".into()));
    assert!(
        matches!(judge(&unknown, Some(7200), Some(3600)), Verdict::Delete(w) if w.contains("7200 s ago"))
    );
    assert_eq!(judge(&unknown, Some(60), Some(3600)), Verdict::NeedsState);
    assert_eq!(judge(&unknown, None, Some(3600)), Verdict::NeedsState);
    assert_eq!(judge(&unknown, Some(7200), None), Verdict::NeedsState);
}

#[test]
fn terminated_groups_of_unknown_owners_go_after_the_grace() {
    assert!(matches!(judge_terminated("u", None), Verdict::Keep(w) if w.contains("still running")));
    assert!(matches!(
        judge_terminated("u", Some(Some(301))),
        Verdict::Delete(_)
    ));
    assert!(
        matches!(judge_terminated("u", Some(Some(30))), Verdict::Keep(w) if w.contains("grace"))
    );
    assert!(matches!(
        judge_terminated("u", Some(None)),
        Verdict::Keep(_)
    ));
}

#[test]
fn creation_times_and_locations_are_read() {
    assert_eq!(
        created_at(&tags(None, Some("2026-11-18T11:06:40Z"))),
        Some(1_795_000_000)
    );
    assert_eq!(created_at(&tags(None, Some("yesterday"))), None);
    let g: ContainerGroup = serde_json::from_value(json!({
        "id": "/subscriptions/s/resourceGroups/My-RG/providers/Microsoft.ContainerInstance/containerGroups/job",
        "name": "job", "properties": {}
    }))
    .unwrap();
    assert_eq!(locate(&g, None), Some(("My-RG".into(), "job".into())));
    let bare: ContainerGroup =
        serde_json::from_value(json!({"name": "x", "properties": {}})).unwrap();
    assert_eq!(locate(&bare, Some("rg")), Some(("rg".into(), "x".into())));
    assert_eq!(locate(&bare, None), None);
}

#[test]
fn termination_is_read_from_the_instance_view() {
    let group = |state: &str, finish: Option<&str>| -> ContainerGroup {
        let mut current = json!({"state": state});
        if let Some(f) = finish {
            current["finishTime"] = json!(f);
        }
        serde_json::from_value(json!({
            "name": "job",
            "properties": {
                "provisioningState": "Succeeded", "restartPolicy": "Never",
                "containers": [{"name": "job", "properties": {"image": "x",
                    "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
                    "instanceView": {"currentState": current}}}],
                "instanceView": {"state": if state == "Terminated" { "Succeeded" } else { "Running" }},
            }
        }))
        .unwrap()
    };
    let now = 1_795_000_600;
    let (t, label) = termination(&group("Running", None), "job", now);
    assert_eq!((t, label.as_str()), (None, "Running"));
    let (t, _) = termination(
        &group("Terminated", Some("2026-11-18T11:06:40Z")),
        "job",
        now,
    );
    assert_eq!(t, Some(Some(600)));
    let (t, _) = termination(&group("Terminated", None), "job", now);
    assert_eq!(t, Some(None));
}
