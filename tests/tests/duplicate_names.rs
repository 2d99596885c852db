//! Two functions registered under one name stop the app from starting, naming both.

use durable::prelude::*;
use durable::{Error, FunctionApp};

#[activity_trigger(name = "Twice")]
async fn first() {}

#[activity_trigger(name = "Twice")]
async fn second() {}

#[tokio::test]
async fn the_app_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = durable::app::HostConfig {
        storage: durable::app::StorageConfig::Sqlite { path: dir.path().join("durable.db") },
        ..Default::default()
    };
    let err = FunctionApp::new(config).start().await.err().unwrap();
    assert!(matches!(err, Error::DuplicateFunction(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "function name `Twice` is registered twice: by `duplicate_names::first` and by `duplicate_names::second`"
    );
    assert!(!dir.path().join("durable.db").exists(), "nothing was created");
}
