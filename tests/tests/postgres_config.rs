//! Bad PostgreSQL configuration fails at startup, with a message that names the server (user,
//! host, port, database) and the cause, and never the password. On a cluster of the test's
//! own, where one login needs a password.

use std::net::TcpListener;
use std::process::Command;

use durable_tests::cluster::PgCluster;

const PASSWORD: &str = "right-horse-battery";

/// Runs the sample app's `list` against `url`; its exit status and error output.
fn list(url: &str) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_durable-samples"))
        .args(["list", "--db", url])
        .current_dir(home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn assert_refused(url: &str, target: &str, cause: &str, secret: &str) {
    let (ok, stderr) = list(url);
    assert!(!ok, "{url} must fail at startup");
    assert!(stderr.contains(target), "the error names {target}: {stderr}");
    assert!(stderr.contains(cause), "the error says `{cause}`: {stderr}");
    assert!(!stderr.contains(secret), "the error shows the password: {stderr}");
    println!("refused: {}", stderr.trim());
}

#[test]
fn bad_configuration_fails_at_startup_naming_the_server_not_the_password() {
    let cluster = PgCluster::start();
    cluster.require_password("app", PASSWORD);
    let port = cluster.port();

    // The right password works: the hub is created and listed.
    let (ok, stderr) = list(&cluster.url_as("app", PASSWORD, "test"));
    assert!(ok, "the right password opens the hub: {stderr}");

    assert_refused(
        &cluster.url_as("app", "wrong-password", "test"),
        &format!("app@127.0.0.1:{port}/test"),
        "password authentication failed",
        "wrong-password",
    );
    assert_refused(
        &cluster.url_as("app", PASSWORD, "nosuchdb"),
        &format!("app@127.0.0.1:{port}/nosuchdb"),
        "does not exist",
        PASSWORD,
    );
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_refused(
        &format!("postgres://app:{PASSWORD}@127.0.0.1:{closed}/test"),
        &format!("app@127.0.0.1:{closed}/test"),
        "refused",
        PASSWORD,
    );
}
