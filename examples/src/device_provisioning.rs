//! Port of the device provisioning example of "Sub-orchestrations in Durable Functions", with
//! the automatic retries of "Handling errors in Durable Functions": `ProvisionNewDevices`
//! provisions every new device of a fleet in parallel, each by a
//! `DeviceProvisioningOrchestration` sub-orchestration that builds an installation package,
//! sends its URL to the device, and waits for the device's `DownloadCompletedAck`.
//!
//! Both layers retry with durable timers, visible in the history: the child retries
//! `CreateInstallationPackage` ([`package_retry_options`]), and the parent starts a failed
//! child again ([`provisioning_retry_options`]) under the same instance id,
//! [`provisioning_instance_id`], which is also where the device sends its acknowledgement.
//!
//! The C# parent takes no input; this one provisions the fleet named by its input and
//! returns the package URLs, in device order. The C# child ignores the acknowledgement's
//! value; this one fails when the device reports `false`, so the parent retries it.
//!
//! Stand-ins: the new devices of a fleet come from an in-process registry
//! ([`add_new_devices`]); packages are not stored anywhere, their URLs are made up; the
//! package store can be made to fail a device's next builds ([`fail_package_builds`]); and
//! the URL goes to the device through the [outbox](crate::outbox), addressed to its id.
//!
//! Run with: `cargo run -p durable-examples -- start ProvisionNewDevices --input '"fleet-1"'`
//! (a fleet nobody registered has no new devices: it prints `[]`).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use durable::prelude::*;

/// How long the child waits before building a failed package again.
pub const PACKAGE_RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// How many times the child tries to build a package.
pub const PACKAGE_ATTEMPTS: u32 = 3;
/// How long the parent waits before starting a failed child again.
pub const PROVISIONING_RETRY_INTERVAL: Duration = Duration::from_secs(60);
/// How many times the parent starts a device's child.
pub const PROVISIONING_ATTEMPTS: u32 = 2;

/// The retry policy of `CreateInstallationPackage`.
pub fn package_retry_options() -> RetryOptions {
    RetryOptions::new(PACKAGE_RETRY_INTERVAL, PACKAGE_ATTEMPTS)
}

/// The retry policy of `DeviceProvisioningOrchestration`.
pub fn provisioning_retry_options() -> RetryOptions {
    RetryOptions::new(PROVISIONING_RETRY_INTERVAL, PROVISIONING_ATTEMPTS)
}

/// The instance id of the child that provisions `device_id` for the parent `parent_id`.
pub fn provisioning_instance_id(parent_id: &str, device_id: &str) -> String {
    format!("{parent_id}:{device_id}")
}

/// Why provisioning a device failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    /// The device acknowledged that it could not download its package.
    #[error("device `{device_id}` could not download its installation package")]
    DownloadFailed {
        /// The device.
        device_id: String,
    },
    /// An activity failed (after its retries).
    #[error(transparent)]
    Call(#[from] FunctionFailed),
}

/// Why an installation package could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The id cannot name a package.
    #[error("invalid device id `{0}`: use ASCII letters, digits, `-` and `_`")]
    InvalidDeviceId(String),
    /// The package store failed; trying again later may work.
    #[error("the package store is unavailable (building the package of `{device_id}`)")]
    StoreUnavailable {
        /// The device whose package was being built.
        device_id: String,
    },
}

/// Provisions every new device of `fleet` in parallel and returns their package URLs.
#[orchestration_trigger(name = "ProvisionNewDevices")]
pub async fn provision_new_devices(
    context: DurableOrchestrationContext,
    fleet: String,
) -> Result<Vec<String>, FunctionFailed> {
    let device_ids: Vec<String> = context.call_activity("GetNewDeviceIds", &fleet).await?;

    // One child per device, all running at once; a failed child is started again under its id.
    let provisioning_tasks = device_ids.iter().map(|device_id| {
        context.call_sub_orchestrator_with_retry::<String>(
            "DeviceProvisioningOrchestration",
            provisioning_retry_options(),
            Some(&provisioning_instance_id(&context.instance_id(), device_id)),
            device_id,
        )
    });

    when_all(provisioning_tasks).await
}

/// Provisions one device: builds its package, sends it the URL, waits for its acknowledgement.
#[orchestration_trigger(name = "DeviceProvisioningOrchestration")]
pub async fn device_provisioning_orchestration(
    context: DurableOrchestrationContext,
    device_id: String,
) -> Result<String, ProvisioningError> {
    // 1. Build the device's installation package; get back a URL to download it from.
    let sas_url: String = context
        .call_activity_with_retry("CreateInstallationPackage", package_retry_options(), &device_id)
        .await?;

    // 2. Tell the device where its package is.
    context.call_activity::<()>("SendPackageUrlToDevice", (&device_id, &sas_url)).await?;

    // 3. Wait until the device reports whether it downloaded the package.
    match context.wait_for_external_event::<bool>("DownloadCompletedAck").await? {
        true => Ok(sas_url),
        false => Err(ProvisioningError::DownloadFailed { device_id }),
    }
}

/// The ids of the fleet's devices that are waiting to be provisioned.
#[activity_trigger(name = "GetNewDeviceIds")]
pub fn get_new_device_ids(fleet: String) -> Vec<String> {
    let registry = NEW_DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
    registry.get(&fleet).cloned().unwrap_or_default()
}

/// Builds the device's installation package and returns the URL to download it from.
#[activity_trigger(name = "CreateInstallationPackage")]
pub fn create_installation_package(device_id: String) -> Result<String, PackageError> {
    let valid = !device_id.is_empty()
        && device_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(PackageError::InvalidDeviceId(device_id));
    }
    if take_package_failure(&device_id) {
        tracing::warn!("The package store failed to build the package of {device_id}.");
        return Err(PackageError::StoreUnavailable { device_id });
    }
    Ok(format!("https://packages.example/{device_id}/install.pkg?sig=stand-in"))
}

/// Tells the device where its installation package is.
#[activity_trigger(name = "SendPackageUrlToDevice")]
pub fn send_package_url_to_device(message: (String, String)) {
    let (device_id, sas_url) = message;
    crate::outbox::send_sms(&device_id, sas_url);
}

/// New devices per fleet.
static NEW_DEVICES: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());

/// Failures left per device before its package builds succeed.
static PACKAGE_FAILURES: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());

/// Registers new devices of `fleet`, to be provisioned by the next `ProvisionNewDevices`.
pub fn add_new_devices<S: AsRef<str>>(fleet: &str, device_ids: &[S]) {
    // Plain map updates cannot leave a table half-changed, so a poisoned lock is still usable.
    let mut registry = NEW_DEVICES.lock().unwrap_or_else(PoisonError::into_inner);
    registry
        .entry(fleet.to_owned())
        .or_default()
        .extend(device_ids.iter().map(|id| id.as_ref().to_owned()));
}

/// Makes the next `failures` package builds of `device_id` fail with
/// [`PackageError::StoreUnavailable`].
pub fn fail_package_builds(device_id: &str, failures: u32) {
    let mut failing = PACKAGE_FAILURES.lock().unwrap_or_else(PoisonError::into_inner);
    failing.insert(device_id.to_owned(), failures);
}

/// Whether this build of `device_id`'s package is one that was set to fail.
fn take_package_failure(device_id: &str) -> bool {
    let mut failing = PACKAGE_FAILURES.lock().unwrap_or_else(PoisonError::into_inner);
    match failing.get_mut(device_id) {
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_builds_fail_as_often_as_asked_then_succeed() {
        fail_package_builds("unit-flaky", 1);
        assert!(matches!(
            create_installation_package("unit-flaky".into()),
            Err(PackageError::StoreUnavailable { .. })
        ));
        assert!(create_installation_package("unit-flaky".into()).is_ok());
        assert!(matches!(
            create_installation_package("../etc".into()),
            Err(PackageError::InvalidDeviceId(_))
        ));
    }
}
