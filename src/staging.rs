//! Private scratch folders (`$TMPDIR/halo-<purpose>-*`): where a command
//! stages validated inputs and step outputs before anything is committed.
//!
//! A folder is removed when its command ends, but a killed process cannot
//! remove it. So each folder holds a lock file that its process keeps locked
//! while it lives (an OS file lock, released by the kernel when the process
//! dies, however it dies). [`remove_abandoned`] deletes every halo folder
//! whose lock nobody holds; `halo run` calls it before it stages anything.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Result;

/// The prefix every halo scratch folder's name starts with.
pub const PREFIX: &str = "halo-";

const LOCK_FILE: &str = ".alive";

/// A folder that lives as long as this value (and this process) does.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    _alive: File,
}

impl Staging {
    /// A new folder named `halo-<purpose>-<random>` under the temp dir.
    pub fn create(purpose: &str) -> Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{purpose}-"))
            .tempdir()?;
        let alive = File::create(dir.path().join(LOCK_FILE))?;
        alive.lock()?;
        Ok(Staging { dir, _alive: alive })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes the halo scratch folders under the temp dir whose process is gone:
/// their lock file is not locked, or (a process killed between creating the
/// folder and locking it) they have none and are older than a minute.
/// Returns the folders removed.
pub fn remove_abandoned() -> Result<Vec<PathBuf>> {
    remove_abandoned_in(&std::env::temp_dir())
}

/// [`remove_abandoned`] under `root`.
pub fn remove_abandoned_in(root: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_ours = entry.file_name().to_string_lossy().starts_with(PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_ours || !abandoned(&path) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "removed the staging folder of a run that is gone");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(folder = %path.display(), error = %e, "could not remove an abandoned staging folder")
            }
        }
    }
    removed.sort();
    Ok(removed)
}

fn abandoned(dir: &Path) -> bool {
    match File::open(dir.join(LOCK_FILE)) {
        // Locking succeeds only when no live process holds the lock; the
        // probe's own lock is released when `f` is dropped.
        Ok(f) => f.try_lock().is_ok(),
        Err(_) => std::fs::metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_folders_whose_process_is_gone_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let live = tempfile::Builder::new()
            .prefix("halo-run-")
            .tempdir_in(root.path())
            .unwrap();
        let held = File::create(live.path().join(LOCK_FILE)).unwrap();
        held.lock().unwrap();
        let dead = root.path().join("halo-run-dead");
        std::fs::create_dir(&dead).unwrap();
        File::create(dead.join(LOCK_FILE)).unwrap();
        let other = root.path().join("not-halo");
        std::fs::create_dir(&other).unwrap();
        let fresh = root.path().join("halo-run-fresh");
        std::fs::create_dir(&fresh).unwrap();

        let removed = remove_abandoned_in(root.path()).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(live.path().exists() && other.exists() && fresh.exists());
        drop(held);
    }
}
