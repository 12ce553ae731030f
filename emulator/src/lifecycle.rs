//! How groups move through their states over time: deployments (`Pending` → `Creating` →
//! `Succeeded` | `Failed`), container supervision with restart policies, stop, removal, and
//! the injected evictions and external deletions.
//!
//! Every background task belongs to one *generation* of a group. Anything that supersedes a
//! deployment (update, stop, start, restart, eviction, delete) bumps the generation, and the
//! older tasks stop at their next step. Processes are only ever spawned under the world lock
//! after checking the generation and the shutdown flag, so shutdown always sees (and kills)
//! every process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;

use super::config::{ProvisionFailure, UNHEALTHY_MARKER};
use super::model::{add_event, CState, ContainerRt, Group, GroupKey, Operation};
use super::process::{spawn, spawn_error_code, ExitInfo, ProcHandle, SpawnSpec};
use super::state::{Inner, World};
use super::validate::{RestartPolicy, RunSpec};

/// Poll interval of the eviction / external-deletion watcher.
const CHAOS_TICK: Duration = Duration::from_millis(50);
/// Eviction period of groups with the `unhealthy` image marker when no `evict_after` is set.
const DEFAULT_EVICT_AFTER: Duration = Duration::from_secs(1);
/// The event message of a failed mount, as recorded.
const MOUNT_ERROR: &str = "Output: mount error(2): Permission denied";
/// Operations kept for status queries.
const MAX_OPERATIONS: usize = 10_000;

/// A started container run.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A real process.
    Started(u64, ProcHandle),
    /// Finished at once (no command, or the command could not be started).
    Exited(u64, ExitInfo),
}

/// Sleeps `d` unless the group leaves generation `gen` (or disappears) first; true if still
/// current afterwards.
pub(crate) async fn pause(rx: &mut watch::Receiver<u64>, gen: u64, d: Duration) -> bool {
    if *rx.borrow() != gen {
        return false;
    }
    let changed = tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = rx.wait_for(|g| *g != gen) => true,
    };
    !changed && *rx.borrow() == gen
}

/// A receiver of the group's generation, `None` when the group is gone.
pub(crate) fn gen_rx(inner: &Inner, key: &GroupKey) -> Option<watch::Receiver<u64>> {
    inner.world().groups.get(key).map(|g| g.gen_tx.subscribe())
}

/// The group, if it still exists at generation `gen`.
pub(crate) fn current<'a>(w: &'a mut World, key: &GroupKey, gen: u64) -> Option<&'a mut Group> {
    w.groups.get_mut(key).filter(|g| g.generation == gen)
}

/// A new `Pending` operation for a group.
pub(crate) fn operation_for(g: &Group) -> Operation {
    Operation {
        sub: g.sub.clone(),
        location: g.location.clone(),
        key: super::model::group_key(&g.sub, &g.rg, &g.name),
        group_id: g.id(),
        status: "Pending".into(),
        start: Utc::now(),
        error: None,
    }
}

/// Stores an operation record (dropping the oldest finished ones beyond the cap); returns its id.
pub(crate) fn store_operation(w: &mut World, op: Operation) -> String {
    if w.ops.len() >= MAX_OPERATIONS {
        let mut done: Vec<(String, chrono::DateTime<Utc>)> = w
            .ops
            .iter()
            .filter(|(_, o)| o.is_terminal())
            .map(|(k, o)| (k.clone(), o.start))
            .collect();
        done.sort_by_key(|(_, t)| *t);
        for (k, _) in done.into_iter().take(MAX_OPERATIONS / 10) {
            w.ops.remove(&k);
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    w.ops.insert(id.clone(), op);
    id
}

/// Sets the status of operation `op` (unless it already ended), with a failure's error.
pub(crate) fn set_op(
    w: &mut World,
    op: &Option<String>,
    status: &str,
    error: Option<(u16, String, String)>,
) {
    if let Some(o) = op.as_ref().and_then(|id| w.ops.get_mut(id)) {
        if o.is_terminal() {
            return;
        }
        o.status = status.to_string();
        o.error = error;
    }
}

/// The ARM error of an injected provisioning failure.
pub(crate) fn failure_error(
    f: ProvisionFailure,
    g_name: &str,
    location: &str,
    spec: &RunSpec,
) -> (u16, String, String) {
    let image = spec
        .images()
        .find(|i| ProvisionFailure::from_image(i) == Some(f))
        .or_else(|| spec.images().next())
        .unwrap_or("")
        .to_string();
    let cpu = spec.cpu();
    let mem: f64 = spec.containers.iter().map(|c| c.memory_gb).sum();
    let message = match f {
        ProvisionFailure::InaccessibleImage => format!(
            "The image '{image}' in container group '{g_name}' is not accessible. Please check the image and registry credential."
        ),
        ProvisionFailure::QuotaReached => format!(
            "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region '{location}'. Limit: '10', Usage: '10' Requested: '{cpu}'."
        ),
        ProvisionFailure::NoCapacity => format!(
            "The requested resource is not available in the location '{location}' at this moment. Please retry with a different resource request or in another location. Resource requested: '{cpu}' CPU '{mem}' GB memory '{}' OS",
            spec.os_type
        ),
        ProvisionFailure::MountFailed => MOUNT_ERROR.to_string(),
    };
    (f.status(), f.code().to_string(), message)
}

/// The provisioning failure a deployment of `spec` will meet, if any.
pub(crate) fn planned_failure(inner: &Inner, spec: &RunSpec) -> Option<ProvisionFailure> {
    inner
        .faults()
        .faults
        .fail_provisioning
        .or_else(|| spec.images().find_map(ProvisionFailure::from_image))
}

/// The working directory of a container of `g`.
pub(crate) fn container_workdir(g: &Group, init: bool, idx: usize) -> std::path::PathBuf {
    g.workdir.join(if init {
        format!("init-{idx}")
    } else {
        format!("c-{idx}")
    })
}

/// The environment of a container process: `PATH` (the emulator's own), `HOME` (the working
/// directory), `LANG=C.UTF-8`, `HOSTNAME` (the group name), then the container's variables.
pub(crate) fn container_env(
    g: &Group,
    c: &ContainerRt,
    workdir: &std::path::Path,
) -> Vec<(String, String)> {
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), path),
        ("HOME".into(), workdir.display().to_string()),
        ("LANG".into(), "C.UTF-8".into()),
        ("HOSTNAME".into(), g.name.clone()),
    ];
    for (k, v) in &c.spec.env {
        env.retain(|(n, _)| n != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Starts one container run (under the world lock): a process, or the no-command stand-in.
pub(crate) fn start_container(
    w: &mut World,
    key: &GroupKey,
    init: bool,
    idx: usize,
) -> Option<Outcome> {
    if w.shutting_down {
        return None;
    }
    let run_id = w.run_id();
    let g = w.groups.get_mut(key)?;
    let workdir = container_workdir(g, init, idx);
    let _ = std::fs::create_dir_all(&workdir);
    let env = {
        let c = if init {
            g.init_containers.get(idx)?
        } else {
            g.containers.get(idx)?
        };
        container_env(g, c, &workdir)
    };
    let c = if init {
        g.init_containers.get_mut(idx)?
    } else {
        g.containers.get_mut(idx)?
    };
    c.run_id = run_id;
    c.started = true;
    add_event(&mut c.events, "Created", "Created container", "Normal");
    let outcome = if c.spec.command.is_empty() {
        c.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!(
                "emulator: image {} has no local command; exiting 0",
                c.spec.image
            ));
        Outcome::Exited(
            run_id,
            ExitInfo {
                code: 0,
                signal: None,
            },
        )
    } else {
        let spec = SpawnSpec {
            argv: c.spec.command.clone(),
            env,
            workdir,
        };
        match spawn(&spec, c.log.clone()) {
            Ok(h) => {
                c.proc = Some(h.clone());
                Outcome::Started(run_id, h)
            }
            Err(e) => {
                let msg = format!("emulator: cannot start {:?}: {e}", c.spec.command[0]);
                c.log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(msg.clone());
                add_event(&mut c.events, "Failed", msg, "Warning");
                Outcome::Exited(
                    run_id,
                    ExitInfo {
                        code: spawn_error_code(&e),
                        signal: None,
                    },
                )
            }
        }
    };
    c.current = Some(CState::running());
    add_event(&mut c.events, "Started", "Started container", "Normal");
    if let Outcome::Started(_, h) = &outcome {
        w.register(h.clone());
    }
    Some(outcome)
}

/// Terminates processes concurrently (SIGTERM, SIGKILL after `grace`) and waits for them.
pub(crate) async fn terminate_all(procs: Vec<ProcHandle>, grace: Duration) {
    let mut set = tokio::task::JoinSet::new();
    for p in procs {
        set.spawn(async move { p.terminate(grace).await });
    }
    while set.join_next().await.is_some() {}
}

/// Kills `procs` and then removes `dir` (in the background).
pub(crate) fn spawn_cleanup(inner: &Inner, procs: Vec<ProcHandle>, dir: std::path::PathBuf) {
    let grace = inner.config.kill_grace;
    tokio::spawn(async move {
        terminate_all(procs, grace).await;
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    });
}

/// Starts a deployment of generation `gen` in the background: kills `kill_first`, walks the
/// provisioning states, then starts the containers (or fails with `failure`). `repair` walks
/// `Unhealthy` → `Repairing` instead of `Pending` → `Creating`.
pub(crate) fn spawn_deploy(
    inner: Arc<Inner>,
    key: GroupKey,
    gen: u64,
    kill_first: Vec<ProcHandle>,
    failure: Option<ProvisionFailure>,
    repair: bool,
) {
    tokio::spawn(deploy(inner, key, gen, kill_first, failure, repair));
}

async fn deploy(
    inner: Arc<Inner>,
    key: GroupKey,
    gen: u64,
    kill_first: Vec<ProcHandle>,
    failure: Option<ProvisionFailure>,
    repair: bool,
) {
    terminate_all(kill_first, inner.config.kill_grace).await;
    let Some(mut rx) = gen_rx(&inner, &key) else {
        return;
    };
    if !provision(&inner, &key, gen, &mut rx, repair).await {
        return;
    }
    if let Some(f) = failure {
        if f == ProvisionFailure::MountFailed {
            // The images were pulled; mounting the volumes fails.
            images_pulled(&inner, &key, gen, repair);
        }
        fail(&inner, &key, gen, f);
        return;
    }
    let Some(n_init) = images_pulled(&inner, &key, gen, repair) else {
        return;
    };
    for idx in 0..n_init {
        if !run_init_container(&inner, &key, gen, &mut rx, idx).await {
            return;
        }
    }
    let Some(outcomes) = start_main_containers(&inner, &key, gen) else {
        return;
    };
    for (idx, outcome) in outcomes {
        tokio::spawn(supervise(inner.clone(), key.clone(), gen, idx, outcome));
    }
    tokio::spawn(chaos(inner, key, gen));
}

/// Walks `Pending` → `Creating` (or `Unhealthy` → `Repairing`) over the provisioning delay,
/// with `Pulling` events; false when a newer generation took over.
async fn provision(
    inner: &Inner,
    key: &GroupKey,
    gen: u64,
    rx: &mut watch::Receiver<u64>,
    repair: bool,
) -> bool {
    let delay = inner.config.provision_delay;
    let half = delay / 2;
    if !pause(rx, gen, half).await {
        return false;
    }
    {
        let mut w = inner.world();
        let Some(g) = current(&mut w, key, gen) else {
            return false;
        };
        g.dying.retain(|p| p.exit().is_none());
        g.provisioning = if repair { "Repairing" } else { "Creating" }.into();
        if !repair {
            for c in g.init_containers.iter_mut().chain(g.containers.iter_mut()) {
                c.current = Some(CState::waiting(""));
                let msg = format!("pulling image \"{}\"", c.spec.image);
                add_event(&mut c.events, "Pulling", msg, "Normal");
            }
        }
        let op = g.op_id.clone();
        set_op(&mut w, &op, "Creating", None);
    }
    pause(rx, gen, delay - half).await
}

/// `Pulled` events (not on a repair); the number of init containers, `None` when a newer
/// generation took over.
fn images_pulled(inner: &Inner, key: &GroupKey, gen: u64, repair: bool) -> Option<usize> {
    let mut w = inner.world();
    let g = current(&mut w, key, gen)?;
    if !repair {
        for c in g.init_containers.iter_mut().chain(g.containers.iter_mut()) {
            let msg = format!("Successfully pulled image \"{}\"", c.spec.image);
            add_event(&mut c.events, "Pulled", msg, "Normal");
        }
    }
    Some(g.init_containers.len())
}

/// Runs init container `idx` to its end; false when the deployment stops here (a newer
/// generation, or a non-zero exit, which fails the group without starting the containers).
async fn run_init_container(
    inner: &Inner,
    key: &GroupKey,
    gen: u64,
    rx: &mut watch::Receiver<u64>,
    idx: usize,
) -> bool {
    let outcome = {
        let mut w = inner.world();
        if current(&mut w, key, gen).is_none() {
            return false;
        }
        match start_container(&mut w, key, true, idx) {
            Some(o) => o,
            None => return false,
        }
    };
    let (run_id, exit) = match outcome {
        Outcome::Exited(r, e) => (r, e),
        Outcome::Started(r, h) => {
            tokio::select! {
                e = h.wait() => (r, e),
                _ = rx.wait_for(|g| *g != gen) => return false,
            }
        }
    };
    let mut w = inner.world();
    let Some(g) = current(&mut w, key, gen) else {
        return false;
    };
    let Some(c) = g
        .init_containers
        .get_mut(idx)
        .filter(|c| c.run_id == run_id)
    else {
        return false;
    };
    c.proc = None;
    let start = c.current.as_ref().and_then(|s| s.start);
    c.current = Some(CState::terminated(start, exit.code));
    if exit.code != 0 {
        // The deployment ends here: the main containers never start.
        for c in g.containers.iter_mut() {
            c.current = Some(CState::waiting("Init container failed"));
        }
        g.state = "Failed".into();
        g.provisioning = "Succeeded".into();
        g.transitioning = false;
        let op = g.op_id.clone();
        set_op(&mut w, &op, "Succeeded", None);
        return false;
    }
    true
}

/// Starts the main containers; the group is then `Running` and its operation `Succeeded`.
/// `None` when a newer generation took over.
fn start_main_containers(inner: &Inner, key: &GroupKey, gen: u64) -> Option<Vec<(usize, Outcome)>> {
    let mut w = inner.world();
    let n = current(&mut w, key, gen)?.containers.len();
    let mut outcomes = Vec::with_capacity(n);
    for idx in 0..n {
        match start_container(&mut w, key, false, idx) {
            Some(o) => outcomes.push((idx, o)),
            None => break,
        }
    }
    let g = current(&mut w, key, gen)?;
    g.provisioning = "Succeeded".into();
    g.state = "Running".into();
    g.transitioning = false;
    g.running_since = Some(Instant::now());
    let op = g.op_id.clone();
    set_op(&mut w, &op, "Succeeded", None);
    Some(outcomes)
}

fn fail(inner: &Inner, key: &GroupKey, gen: u64, f: ProvisionFailure) {
    let mut w = inner.world();
    let Some(g) = current(&mut w, key, gen) else {
        return;
    };
    let err = failure_error(f, &g.name, &g.location, &g.spec);
    g.provisioning = "Failed".into();
    g.state = "Pending".into();
    g.transitioning = false;
    let (event_name, event_kind) = match f {
        ProvisionFailure::NoCapacity => ("InsufficientCapacity.", "Warning"),
        ProvisionFailure::QuotaReached => ("QuotaExceeded", "Warning"),
        ProvisionFailure::InaccessibleImage => ("Failed", "Warning"),
        // Recorded with type Normal.
        ProvisionFailure::MountFailed => ("FailedMount", "Normal"),
    };
    if f == ProvisionFailure::InaccessibleImage {
        for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
            if ProvisionFailure::from_image(&c.spec.image) == Some(f)
                || inner.faults().faults.fail_provisioning == Some(f)
            {
                let msg = format!(
                    "Failed to pull image \"{}\": the image is not accessible",
                    c.spec.image
                );
                add_event(&mut c.events, "Failed", msg, "Warning");
            }
        }
    }
    add_event(&mut g.events, event_name, err.2.clone(), event_kind);
    let op = g.op_id.clone();
    set_op(&mut w, &op, "Failed", Some(err));
}

/// Watches one container run: records its exit and applies the restart policy.
async fn supervise(inner: Arc<Inner>, key: GroupKey, gen: u64, idx: usize, mut outcome: Outcome) {
    let Some(mut rx) = gen_rx(&inner, &key) else {
        return;
    };
    let mut backoff = inner.config.restart_backoff;
    loop {
        let (run_id, exit) = match outcome {
            Outcome::Started(r, h) => (r, h.wait().await),
            Outcome::Exited(r, e) => (r, e),
        };
        let restart = {
            let mut w = inner.world();
            let Some(g) = w.groups.get_mut(&key) else {
                return;
            };
            let policy = g.spec.restart_policy;
            let same_gen = g.generation == gen;
            let Some(c) = g.containers.get_mut(idx).filter(|c| c.run_id == run_id) else {
                return;
            };
            if !same_gen {
                // Stopped (or evicted): `record_stopped` may already have written the exit.
                if c.proc.is_some() {
                    c.proc = None;
                    let start = c.current.as_ref().and_then(|s| s.start);
                    c.current = Some(CState::terminated(start, exit.code));
                }
                return;
            }
            c.proc = None;
            let start = c.current.as_ref().and_then(|s| s.start);
            c.current = Some(CState::terminated(start, exit.code));
            let restart = match policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => exit.code != 0,
                RestartPolicy::Never => false,
            };
            if restart {
                add_event(
                    &mut c.events,
                    "BackOff",
                    "Back-off restarting failed container",
                    "Warning",
                );
                c.previous = c.current.take();
                c.current = Some(CState::waiting(
                    "CrashLoopBackOff: Back-off restarting failed container",
                ));
            } else {
                if exit.code != 0 {
                    let msg = format!("Killing container with id {run_id:016x}.");
                    add_event(&mut c.events, "Killing", msg, "Normal");
                }
                g.recompute_state();
            }
            restart
        };
        if !restart || !pause(&mut rx, gen, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(inner.config.restart_backoff_max);
        outcome = {
            let mut w = inner.world();
            let Some(g) = current(&mut w, &key, gen) else {
                return;
            };
            let Some(c) = g.containers.get_mut(idx) else {
                return;
            };
            c.restart_count += 1;
            match start_container(&mut w, &key, false, idx) {
                Some(o) => o,
                None => return,
            }
        };
    }
}

/// Applies injected evictions and external deletions to a running deployment.
async fn chaos(inner: Arc<Inner>, key: GroupKey, gen: u64) {
    let Some(mut rx) = gen_rx(&inner, &key) else {
        return;
    };
    let started = Instant::now();
    loop {
        if !pause(&mut rx, gen, CHAOS_TICK).await {
            return;
        }
        let faults = inner.faults().faults.clone();
        let mut w = inner.world();
        let Some(g) = current(&mut w, &key, gen) else {
            return;
        };
        if g.is_terminal() {
            return;
        }
        let elapsed = started.elapsed();
        if faults.delete_after.is_some_and(|d| elapsed >= d) {
            if let Some((g, procs)) = remove_group(&mut w, &key) {
                drop(w);
                spawn_cleanup(&inner, procs, g.workdir);
            }
            return;
        }
        let marker = g
            .spec
            .images()
            .any(|i| i.to_ascii_lowercase().contains(UNHEALTHY_MARKER));
        let evict_after = faults.evict_after.or(if marker {
            Some(DEFAULT_EVICT_AFTER)
        } else {
            None
        });
        if evict_after.is_some_and(|d| elapsed >= d) {
            let (new_gen, procs) = evict(g);
            drop(w);
            spawn_deploy(inner, key, new_gen, procs, None, true);
            return;
        }
    }
}

/// Evicts a running group (node failure / Spot eviction): kills its processes and marks it
/// `Unhealthy`; the caller starts the repair deployment. Returns the new generation and the
/// processes to kill.
fn evict(g: &mut Group) -> (u64, Vec<ProcHandle>) {
    let mut procs = std::mem::take(&mut g.dying);
    for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
        if let Some(p) = c.proc.take() {
            let msg = format!("Killing container with id {:016x}.", c.run_id);
            add_event(&mut c.events, "Killing", msg, "Normal");
            procs.push(p);
        }
        c.run_id = 0;
        let prev = c.current.take().map(|s| {
            if s.state == "Running" {
                CState::terminated(s.start, 137)
            } else {
                s
            }
        });
        c.previous = prev;
        c.current = Some(CState::waiting("Evicted"));
        c.restart_count += 1;
    }
    add_event(
        &mut g.events,
        "Evicted",
        "The container group was evicted (emulated node failure / Spot eviction) and is being repaired.",
        "Warning",
    );
    g.provisioning = "Unhealthy".into();
    g.state = "Pending".into();
    g.transitioning = true;
    g.running_since = None;
    g.op_id = None;
    (g.bump_generation(), procs)
}

/// Removes a group: returns it and the processes to kill. Its running operation is canceled.
pub(crate) fn remove_group(w: &mut World, key: &GroupKey) -> Option<(Group, Vec<ProcHandle>)> {
    let g = w.groups.remove(key)?;
    let op = g.op_id.clone();
    set_op(
        w,
        &op,
        "Canceled",
        Some((
            409,
            "OperationCanceled".into(),
            "The operation was canceled because the container group was deleted.".into(),
        )),
    );
    let procs = g.processes();
    Some((g, procs))
}

/// Stops a group (under the lock): kills its containers, state `Stopped`; returns the
/// processes to kill.
pub(crate) fn stop_group(g: &mut Group) -> Vec<ProcHandle> {
    g.bump_generation();
    for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
        if let Some(p) = &c.proc {
            let msg = format!("Killing container with id {:016x}.", c.run_id);
            add_event(&mut c.events, "Killing", msg, "Normal");
            g.dying.push(p.clone());
        }
    }
    g.state = "Stopped".into();
    g.running_since = None;
    g.dying.retain(|p| p.exit().is_none());
    g.dying.clone()
}

/// Records the exits of the processes killed by a stop (the supervisors would do it a moment
/// later; doing it here makes the stop answer final).
pub(crate) fn record_stopped(inner: &Inner, key: &GroupKey, procs: &[ProcHandle]) {
    let mut w = inner.world();
    let Some(g) = w.groups.get_mut(key) else {
        return;
    };
    for c in g.containers.iter_mut().chain(g.init_containers.iter_mut()) {
        let Some(p) = c.proc.as_ref() else { continue };
        if !procs.iter().any(|x| x.same(p)) {
            continue;
        }
        if let Some(exit) = p.exit() {
            let start = c.current.as_ref().and_then(|s| s.start);
            c.current = Some(CState::terminated(start, exit.code));
            c.proc = None;
        }
    }
}

/// Prepares a new deployment of an existing group (update, start, restart) under the lock:
/// resets the containers (optionally with a new body and spec), bumps the generation,
/// creates the operation. Returns `(generation, processes to kill, operation id)`.
pub(crate) fn prepare_redeploy(
    w: &mut World,
    key: &GroupKey,
    new: Option<(serde_json::Map<String, serde_json::Value>, RunSpec)>,
    logs: super::logs::LogSettings,
) -> Option<(u64, Vec<ProcHandle>, String)> {
    let g = w.groups.get_mut(key)?;
    let kill = g.processes();
    g.dying.clear();
    if let Some((public, spec)) = new {
        g.public = public;
        g.spec = spec;
    }
    g.containers = ContainerRt::all(&g.spec.containers, logs);
    g.init_containers = ContainerRt::all(&g.spec.init_containers, logs);
    g.events.clear();
    let gen = g.bump_generation();
    g.provisioning = "Pending".into();
    g.state = "Pending".into();
    g.transitioning = true;
    g.running_since = None;
    let op = operation_for(g);
    let op_id = store_operation(w, op);
    if let Some(g) = w.groups.get_mut(key) {
        g.op_id = Some(op_id.clone());
    }
    Some((gen, kill, op_id))
}
