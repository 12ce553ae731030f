//! The budget on tokio's paused clock: time only moves when every task
//! waits, so rates and pauses are checked exactly, in virtual time.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

/// Budgets with the keys `keys` of one class, all of this limit.
fn budgets(keys: &[&str], capacity: f64, rate: f64) -> Arc<Budgets> {
    let b = Budgets::new(1.0, Vec::new()).unwrap();
    for key in keys {
        b.declare(key, "class", Limit::new(capacity, rate).unwrap());
    }
    Arc::new(b)
}

/// Grant times never exceed the bucket: any `k` consecutive grants span at
/// least `(k - capacity) / rate` seconds.
fn assert_within_rate(times: &[Instant], capacity: f64, rate: f64) {
    for i in 0..times.len() {
        for j in i..times.len() {
            let span = (times[j] - times[i]).as_secs_f64();
            let count = (j - i + 1) as f64;
            assert!(
                count <= capacity + rate * span + 1e-6,
                "{count} grants in {span}s exceed {capacity} + {rate}/s"
            );
        }
    }
}

/// Spawns `tasks` tasks that each take `each` tokens of `key`, recording
/// `(task, when)` for every grant.
async fn contend(b: &Arc<Budgets>, key: &str, tasks: usize, each: usize) -> Vec<(usize, Instant)> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let (b, log, key) = (b.clone(), log.clone(), key.to_string());
        set.spawn(async move {
            for _ in 0..each {
                b.acquire(&key, Priority::Normal).unwrap().await;
                log.lock().unwrap().push((t, Instant::now()));
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    Arc::try_unwrap(log).unwrap().into_inner().unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_rate_is_never_exceeded() {
    let b = budgets(&["reads:sub"], 5.0, 2.0);
    let start = Instant::now();
    let grants = contend(&b, "reads:sub", 20, 3).await;
    assert_eq!(grants.len(), 60);
    let times: Vec<Instant> = grants.iter().map(|(_, t)| *t).collect();
    assert_within_rate(&times, 5.0, 2.0);
    // And nothing is held back: 5 at once, then 55 at 2 per second.
    let took = (*times.last().unwrap() - start).as_secs_f64();
    assert!((27.5..27.6).contains(&took), "{took}");
    let (key, stats) = &b.stats()[0];
    assert_eq!(key, "reads:sub");
    assert_eq!(stats.granted, 60);
    assert_eq!(stats.waited, 55);
    assert_eq!(stats.waiting, 0);
    // The 5 served at once queue again behind the 15 others.
    assert!((15..20).contains(&stats.max_waiting), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn waiting_tasks_take_turns() {
    let b = budgets(&["reads"], 1.0, 10.0);
    let grants = contend(&b, "reads", 8, 6).await;
    // Task 0 took the only token at once and queued first for its next one;
    // from then on the tasks are served in turn (until task 0 has its 6).
    let who: Vec<usize> = grants.iter().skip(1).take(40).map(|(t, _)| *t).collect();
    let turns: Vec<usize> = (0..who.len()).map(|i| i % 8).collect();
    assert_eq!(who, turns);
}

#[tokio::test(start_paused = true)]
async fn urgent_waiters_go_first() {
    let b = budgets(&["writes"], 1.0, 1.0);
    b.acquire("writes", Priority::Normal).unwrap().await; // empties the bucket
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut set = tokio::task::JoinSet::new();
    for (name, p) in [
        ("poll-1", Priority::Normal),
        ("poll-2", Priority::Normal),
        ("create", Priority::Urgent),
        ("delete", Priority::Urgent),
    ] {
        let (b, order) = (b.clone(), order.clone());
        set.spawn(async move {
            b.acquire("writes", p).unwrap().await;
            order.lock().unwrap().push(name);
        });
        // Queue them in this order.
        tokio::task::yield_now().await;
    }
    while set.join_next().await.is_some() {}
    assert_eq!(
        *order.lock().unwrap(),
        ["create", "delete", "poll-1", "poll-2"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_waiter() {
    let b = budgets(&["reads:s", "reads:other"], 10.0, 10.0);
    let start = Instant::now();
    assert_eq!(
        b.pause("reads:s", Duration::from_secs(3)).unwrap(),
        Duration::from_secs(3)
    );
    let grants = contend(&b, "reads:s", 4, 1).await;
    for (_, t) in &grants {
        assert!(*t - start >= Duration::from_secs(3), "{:?}", *t - start);
    }
    // The bucket was emptied, but refilled during the pause (as the remote one does).
    assert!(grants
        .iter()
        .all(|(_, t)| *t - start == Duration::from_secs(3)));
    // Other keys are not paused.
    let t0 = Instant::now();
    b.acquire("reads:other", Priority::Normal).unwrap().await;
    assert_eq!(Instant::now(), t0);
    // Pauses are bounded.
    assert_eq!(
        b.pause("reads:s", Duration::from_secs(3600)).unwrap(),
        MAX_PAUSE
    );
    assert_eq!(b.stats()[1].1.pauses, 2);
}

#[tokio::test(start_paused = true)]
async fn a_pause_during_a_wait_extends_it() {
    let b = budgets(&["reads"], 1.0, 1.0);
    b.acquire("reads", Priority::Normal).unwrap().await;
    let start = Instant::now();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move {
            b.acquire("reads", Priority::Normal).unwrap().await;
            Instant::now()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.pause("reads", Duration::from_secs(2)).unwrap();
    let granted = waiter.await.unwrap();
    // Paused at 0.5 s for 2 s, bucket emptied: the token is due 1 s after 0.5 s,
    // i.e. before the pause ends, so the grant is at the end of the pause.
    assert_eq!(granted - start, Duration::from_millis(2500));
}

fn poll_once(f: &mut Acquire) -> Poll<()> {
    let mut cx = Context::from_waker(Waker::noop());
    std::pin::Pin::new(f).poll(&mut cx)
}

use std::future::Future;

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_leaves_no_trace() {
    let b = budgets(&["reads"], 1.0, 1.0);
    b.acquire("reads", Priority::Normal).unwrap().await;
    // Queued, then dropped before its token is due.
    let mut queued = b.acquire("reads", Priority::Normal).unwrap();
    assert!(poll_once(&mut queued).is_pending());
    assert_eq!(b.stats()[0].1.waiting, 1);
    drop(queued);
    let s = b.stats()[0].1;
    assert_eq!((s.waiting, s.cancelled, s.granted), (0, 1, 1));
    // Queued, granted by the timer task, dropped before it saw the grant:
    // the token goes back.
    let mut granted = b.acquire("reads", Priority::Normal).unwrap();
    assert!(poll_once(&mut granted).is_pending());
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(granted);
    let t0 = Instant::now();
    b.acquire("reads", Priority::Normal).unwrap().await;
    assert_eq!(Instant::now(), t0, "the returned token is taken at once");
    let s = b.stats()[0].1;
    assert_eq!((s.granted, s.cancelled, s.waited), (2, 2, 0));
}

#[tokio::test(start_paused = true)]
async fn a_returned_token_goes_to_the_next_waiter() {
    let b = budgets(&["reads"], 1.0, 0.1);
    b.acquire("reads", Priority::Normal).unwrap().await;
    let mut first = b.acquire("reads", Priority::Normal).unwrap();
    assert!(poll_once(&mut first).is_pending());
    let second = {
        let b = b.clone();
        tokio::spawn(async move {
            b.acquire("reads", Priority::Normal).unwrap().await;
            Instant::now()
        })
    };
    tokio::task::yield_now().await;
    let start = Instant::now();
    // The first waiter is granted at 10 s but never looks; dropping it hands
    // its token to the second one at once instead of at 20 s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    drop(first);
    let got = second.await.unwrap();
    assert_eq!(got - start, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn five_thousand_waiters() {
    let b = budgets(&["reads"], 100.0, 1000.0);
    let start = Instant::now();
    let grants = contend(&b, "reads", 5000, 1).await;
    assert_eq!(grants.len(), 5000);
    let took = (Instant::now() - start).as_secs_f64();
    assert!((4.9..=4.91).contains(&took), "{took}");
    let s = b.stats()[0].1;
    assert_eq!(s.granted, 5000);
    assert_eq!(s.max_waiting, 4900);
    assert_eq!(s.waiting, 0);
    // With nobody waiting, the bucket's timer task has ended.
    tokio::task::yield_now().await;
    let alive = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    assert_eq!(alive, 0);
}

#[test]
fn undeclared_keys_are_refused() {
    let b = Budgets::default();
    assert_eq!(b.share(), DEFAULT_SHARE);
    assert_eq!(
        b.acquire("reads:s", Priority::Normal).err(),
        Some(UnknownBudget("reads:s".into()))
    );
    assert!(b.pause("nope", Duration::from_secs(1)).is_err());
    assert_eq!(Priority::from_urgent(true), Priority::Urgent);
}

#[test]
fn declared_limits_take_the_share_and_overrides_win() {
    let b = Budgets::new(0.5, vec!["writes=20/5".parse().unwrap()]).unwrap();
    assert_eq!(
        b.declare("s1/reads", "reads", Limit::new(250.0, 25.0).unwrap()),
        Limit::new(125.0, 12.5).unwrap()
    );
    assert_eq!(
        b.declare("s1/writes", "writes", Limit::new(200.0, 10.0).unwrap()),
        Limit::new(20.0, 5.0).unwrap()
    );
    let writes = Some(("writes".to_string(), Limit::new(20.0, 5.0).unwrap()));
    assert_eq!(b.limit("s1/writes"), writes);
    assert_eq!(b.limit("s1/deletes"), None);
    // A later declaration of a key updates its bucket.
    b.declare("s1/reads", "reads", Limit::new(20.0, 2.0).unwrap());
    let reads = Some(("reads".to_string(), Limit::new(10.0, 1.0).unwrap()));
    assert_eq!(b.limit("s1/reads"), reads);
    // A tiny remote bucket still has one token.
    assert_eq!(Limit::new(1.0, 1.0).unwrap().scaled(0.1).capacity, 1.0);
    assert!(Budgets::new(0.0, Vec::new()).is_err());
    assert!(Budgets::new(1.5, Vec::new()).is_err());
}

#[test]
fn limits_and_overrides_parse() {
    assert_eq!(
        "250/25".parse::<Limit>().unwrap(),
        Limit::new(250.0, 25.0).unwrap()
    );
    assert_eq!(Limit::new(250.0, 25.0).unwrap().to_string(), "250/25");
    for bad in ["250", "x/1", "0/1", "5/0", "5/-1", "inf/1"] {
        assert!(bad.parse::<Limit>().is_err(), "{bad}");
    }
    let o: BudgetOverride = "reads=20/5".parse().unwrap();
    assert_eq!(o.class, "reads");
    assert_eq!(o.limit, Limit::new(20.0, 5.0).unwrap());
    for bad in ["=20/5", "reads", "reads=1"] {
        assert!(bad.parse::<BudgetOverride>().is_err(), "{bad}");
    }
}
