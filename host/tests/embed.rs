//! The embedding example (`examples/embed.rs`, shown in the README) runs in
//! `cargo test`, so it keeps compiling and working.

#[path = "../examples/embed.rs"]
#[allow(dead_code)] // its `main`
mod embed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_example_runs_a_task_in_its_own_store() {
    let outcome = embed::run().await.expect("the example runs");
    assert_eq!(outcome.exit_code, Some(0));
    let value: serde_json::Value = serde_json::from_str(&outcome.return_value).unwrap();
    assert_eq!(value, serde_json::json!(0), "{}", outcome.return_value);
}
