//! Port of `BackupSiteContent.cs`: fan-out/fan-in. Lists the files under a directory, copies
//! each in parallel, and returns the total bytes copied.
//!
//! Azure copies into the `backups` blob container; this port copies into a local directory
//! instead: `$DURABLE_BACKUP_DIR`, default `backups` in the working directory, keeping each
//! file's path below it.
//!
//! Run with: `cargo run -p durable-examples -- start E2_BackupSiteContent --input '"durable"'`

use std::path::{Component, Path, PathBuf};

use durable::prelude::*;

/// Backs up every file under `root_directory` (default: the working directory) and returns
/// the total bytes copied.
#[orchestration_trigger(name = "E2_BackupSiteContent")]
pub async fn backup_site_content(
    backup_context: DurableOrchestrationContext,
    root_directory: Option<String>,
) -> Result<u64, FunctionFailed> {
    let root_directory = match root_directory.as_deref().map(str::trim) {
        Some(dir) if !dir.is_empty() => dir.to_owned(),
        _ => ".".to_owned(),
    };

    let files: Vec<String> =
        backup_context.call_activity("E2_GetFileList", &root_directory).await?;

    let tasks: Vec<_> = files
        .iter()
        .map(|file| backup_context.call_activity::<u64>("E2_CopyFileToBlob", file))
        .collect();

    let sizes = when_all(tasks).await?;

    let total_bytes = sizes.iter().sum();
    Ok(total_bytes)
}

/// Lists the files under a directory, recursively, in a stable order.
#[activity_trigger(name = "E2_GetFileList")]
pub fn get_file_list(root_directory: String) -> std::io::Result<Vec<String>> {
    tracing::info!("Searching for files under '{root_directory}'...");
    let mut files = Vec::new();
    collect_files(Path::new(&root_directory), &mut files)?;
    files.sort();
    tracing::info!("Found {} file(s) under {root_directory}.", files.len());
    Ok(files)
}

fn collect_files(dir: &Path, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Copies one file into the backup directory and returns its size in bytes.
#[activity_trigger(name = "E2_CopyFileToBlob")]
pub async fn copy_file_to_blob(file_path: String) -> std::io::Result<u64> {
    let byte_count = tokio::fs::metadata(&file_path).await?.len();

    let output_location = backup_root().join(relative_to_root(Path::new(&file_path)));
    tracing::info!(
        "Copying '{file_path}' to '{}'. Total bytes = {byte_count}.",
        output_location.display()
    );

    if let Some(parent) = output_location.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::copy(&file_path, &output_location).await?;
    Ok(byte_count)
}

fn backup_root() -> PathBuf {
    std::env::var_os("DURABLE_BACKUP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("backups"))
}

/// The path without its root or any `..`, so every copy lands inside the backup directory.
fn relative_to_root(path: &Path) -> PathBuf {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_stay_inside_the_backup_directory() {
        assert_eq!(relative_to_root(Path::new("/var/www/a.txt")), PathBuf::from("var/www/a.txt"));
        assert_eq!(relative_to_root(Path::new("../../etc/passwd")), PathBuf::from("etc/passwd"));
    }
}
