//! One writer per output root: a lease every writing command takes before its
//! first write (and before recovery), and gives back when it ends.
//!
//! The lease is a sequence of objects under `_halo/lease/`, written with
//! create-only puts (object_store's `PutMode::Create`, which local disk, S3,
//! GCS and Azure all honour), so two writers can never both take number `n`:
//! - `<n>.json`: who holds it (run id, command, host, pid, start time);
//! - `<n>.heartbeat.json`: overwritten every `timeout / 4` while the holder
//!   lives, with the date it is working on (local disk has no conditional
//!   update, so liveness is a plain overwrite of a separate object);
//! - `<n>.released.json`: written when the holder ends.
//!
//! The newest lease is the one that counts. A writer that finds it released
//! takes `n + 1`. One that finds it held exits 75 naming the holder, unless
//! the holder is gone: its heartbeat is older than the timeout, or it ran on
//! this machine and its process no longer exists. Then the writer takes it
//! over by creating `n + 1` (never by deleting `n`: a delete-then-create
//! would let two writers both succeed), and reports the holder as abandoned
//! so its work can be rolled back and recorded.
//!
//! A holder checks before each commit ([`Lease::check`]) that no newer lease
//! exists and that its own heartbeat was renewed within three quarters of the
//! timeout; otherwise it stops without committing (exit 75). The one window
//! left is a commit that starts just before a takeover: it is bounded by one
//! table commit, and a takeover needs a full timeout without heartbeats,
//! which the holder itself notices at three quarters.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::storage::{Storage, store_path};

/// The default `--lease-timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Who holds (or held) a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The lease number.
    pub lease: u64,
    /// The invocation's id.
    pub run_id: String,
    /// What it is doing (`run nightly`, `payouts approve`, ...).
    pub command: String,
    /// The machine.
    pub host: String,
    /// Its process id there.
    pub pid: u32,
    /// When it took the lease.
    pub started_at: DateTime<Utc>,
    /// What identifies the process beyond its pid (boot, pid namespace and
    /// start time), so that a dead holder on this machine is recognised.
    #[serde(default)]
    pub process: Option<ProcessId>,
}

/// A process, as the kernel knows it (Linux).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// The pid namespace (`readlink /proc/self/ns/pid`).
    pub pid_ns: String,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    pub start_ticks: u64,
}

/// What a heartbeat records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// When it was written.
    pub at: Option<DateTime<Utc>>,
    /// The date the holder is running, if any.
    pub date: Option<NaiveDate>,
    /// The id of that date's attempt.
    pub date_run_id: Option<String>,
    /// When that date's attempt started.
    pub date_started_at: Option<DateTime<Utc>>,
}

/// A lease that was held by a writer that is gone, found when taking over.
#[derive(Debug, Clone)]
pub struct Abandoned {
    /// Who held it.
    pub holder: Holder,
    /// Its last heartbeat.
    pub heartbeat: Heartbeat,
}

#[derive(Debug, Default)]
struct State {
    heartbeat: Heartbeat,
    renewed: Option<Instant>,
    error: Option<String>,
}

/// A held lease. Give it back with [`Lease::release`]; dropping it stops the
/// heartbeat without releasing (the next writer then waits for the timeout
/// or finds the process gone).
#[derive(Debug)]
pub struct Lease {
    store: Arc<dyn ObjectStore>,
    dir: object_store::path::Path,
    /// Who holds it (this process).
    pub holder: Holder,
    timeout: Duration,
    state: Arc<Mutex<State>>,
    beat: tokio::task::JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.beat.abort();
    }
}

fn lease_name(n: u64) -> String {
    format!("{n:010}.json")
}
fn heartbeat_name(n: u64) -> String {
    format!("{n:010}.heartbeat.json")
}
fn released_name(n: u64) -> String {
    format!("{n:010}.released.json")
}

/// The lease folder of an output root.
fn lease_dir(root: &Url) -> Result<Url> {
    root.join("_halo/lease/")
        .map_err(|e| Error::Internal(format!("lease url: {e}")))
}

/// What the lease folder holds: lease numbers, and which were released.
#[derive(Debug, Default)]
struct Listing {
    leases: Vec<u64>,
    released: Vec<u64>,
    heartbeats: Vec<u64>,
}

async fn listing(store: &dyn ObjectStore, dir: &object_store::path::Path) -> Result<Listing> {
    use futures::TryStreamExt;
    let objects: Vec<object_store::ObjectMeta> = match store.list(Some(dir)).try_collect().await {
        Ok(o) => o,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut l = Listing::default();
    for o in objects {
        let Some(name) = o.location.filename() else {
            continue;
        };
        let (num, rest) = name.split_once('.').unwrap_or((name, ""));
        let Ok(n) = num.parse::<u64>() else { continue };
        match rest {
            "json" => l.leases.push(n),
            "released.json" => l.released.push(n),
            "heartbeat.json" => l.heartbeats.push(n),
            _ => {}
        }
    }
    l.leases.sort();
    Ok(l)
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    store: &dyn ObjectStore,
    path: &object_store::path::Path,
) -> Result<Option<T>> {
    match store.get(path).await {
        Ok(r) => {
            let bytes = r.bytes().await?;
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::InvalidInput(format!("lease object {path} is not valid: {e}")))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

fn this_process() -> Option<ProcessId> {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let pid_ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(ProcessId {
        boot_id: boot_id.trim().to_string(),
        pid_ns: pid_ns.to_string_lossy().into_owned(),
        start_ticks: start_ticks(std::process::id())?,
    })
}

/// Whether `h` ran on this machine (same boot, same pid namespace) and its
/// process is gone.
fn gone_from_this_machine(h: &Holder) -> bool {
    let (Some(theirs), Some(ours)) = (&h.process, this_process()) else {
        return false;
    };
    if h.host != host_name() || theirs.boot_id != ours.boot_id || theirs.pid_ns != ours.pid_ns {
        return false;
    }
    start_ticks(h.pid) != Some(theirs.start_ticks)
}

/// A lease acquired: the lease, and the holder it took over from, if any.
#[derive(Debug)]
pub struct Acquired {
    /// The lease.
    pub lease: Lease,
    /// The previous holder, when it was gone without releasing.
    pub abandoned: Option<Abandoned>,
}

/// Runs `work` holding the output root's lease (taken for `command`, as
/// [`Lease::acquire`] takes it), and releases it whatever `work` returned:
/// how a person's decision or a send is kept from racing a run.
pub async fn holding<T, F>(
    storage: &Storage,
    root: &Url,
    command: &str,
    timeout: Duration,
    work: F,
) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    let acquired = Lease::acquire(
        storage,
        root,
        command,
        &uuid::Uuid::now_v7().to_string(),
        timeout,
    )
    .await?;
    let outcome = work.await;
    let released = acquired.lease.release().await;
    let out = outcome?;
    released?;
    Ok(out)
}

impl Lease {
    /// Takes the output root's lease for `command`, or fails with exit 75
    /// naming the live holder. A holder whose heartbeat is older than
    /// `timeout`, or whose process is gone from this machine, is taken over.
    pub async fn acquire(
        storage: &Storage,
        root: &Url,
        command: &str,
        run_id: &str,
        timeout: Duration,
    ) -> Result<Acquired> {
        let url = lease_dir(root)?;
        let store = storage.store_for(&url)?;
        let dir = store_path(&url)?;
        for _ in 0..5 {
            let l = listing(store.as_ref(), &dir).await?;
            let (next, abandoned) = match l.leases.last().copied() {
                None => (1, None),
                Some(n) if l.released.contains(&n) => (n + 1, None),
                Some(n) => {
                    let holder: Option<Holder> =
                        read_json(store.as_ref(), &dir.clone().join(lease_name(n))).await?;
                    let heartbeat: Heartbeat =
                        read_json(store.as_ref(), &dir.clone().join(heartbeat_name(n)))
                            .await?
                            .unwrap_or_default();
                    let Some(holder) = holder else {
                        // Listed, then gone: someone is cleaning up; look again.
                        continue;
                    };
                    let last = heartbeat
                        .at
                        .unwrap_or(holder.started_at)
                        .max(holder.started_at);
                    let age = (Utc::now() - last).to_std().unwrap_or_default();
                    let gone = gone_from_this_machine(&holder);
                    if age <= timeout && !gone {
                        return Err(Error::Transient(format!(
                            "the output root {root} is in use: {} (run {}) holds its lease since {}, on {} pid {}; \
                             its last heartbeat was {}s ago. Try again when it is done, or after --lease-timeout ({}s) without heartbeats",
                            holder.command,
                            holder.run_id,
                            holder
                                .started_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            holder.host,
                            holder.pid,
                            age.as_secs(),
                            timeout.as_secs()
                        )));
                    }
                    tracing::warn!(
                        lease = n,
                        holder = %holder.run_id,
                        command = %holder.command,
                        host = %holder.host,
                        pid = holder.pid,
                        heartbeat_age_s = age.as_secs(),
                        process_gone = gone,
                        "taking over the lease of a writer that is gone"
                    );
                    (n + 1, Some(Abandoned { holder, heartbeat }))
                }
            };
            let holder = Holder {
                lease: next,
                run_id: run_id.to_string(),
                command: command.to_string(),
                host: host_name(),
                pid: std::process::id(),
                started_at: Utc::now(),
                process: this_process(),
            };
            let body =
                serde_json::to_vec_pretty(&holder).map_err(|e| Error::Internal(e.to_string()))?;
            let created = store
                .put_opts(
                    &dir.clone().join(lease_name(next)),
                    PutPayload::from(body),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match created {
                Ok(_) => {}
                // Another writer took `next` first: look again.
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            let state = Arc::new(Mutex::new(State::default()));
            let lease = Lease {
                beat: tokio::spawn(beat(
                    store.clone(),
                    dir.clone().join(heartbeat_name(next)),
                    state.clone(),
                    (timeout / 4).max(Duration::from_millis(50)),
                )),
                store,
                dir,
                holder,
                timeout,
                state,
            };
            lease.renew().await?;
            tracing::info!(lease = next, run_id, "output root lease taken");
            return Ok(Acquired { lease, abandoned });
        }
        Err(Error::Transient(format!(
            "the output root {root}'s lease changed hands five times while halo tried to take it; try again"
        )))
    }

    /// Records what the holder is working on, in its next heartbeat (written
    /// now).
    pub async fn working_on(&self, date: Option<(NaiveDate, &str, DateTime<Utc>)>) -> Result<()> {
        {
            let mut s = self.state.lock().expect("lease state");
            s.heartbeat.date = date.map(|d| d.0);
            s.heartbeat.date_run_id = date.map(|d| d.1.to_string());
            s.heartbeat.date_started_at = date.map(|d| d.2);
        }
        self.renew().await
    }

    async fn renew(&self) -> Result<()> {
        write_heartbeat(
            self.store.as_ref(),
            &self.dir.clone().join(heartbeat_name(self.holder.lease)),
            &self.state,
        )
        .await
    }

    /// Fails with exit 75 when the lease is no longer this holder's: a newer
    /// lease exists (another writer took over), or the heartbeat could not be
    /// renewed for three quarters of the timeout.
    pub async fn check(&self) -> Result<()> {
        let (renewed, error) = {
            let s = self.state.lock().expect("lease state");
            (s.renewed, s.error.clone())
        };
        let stale = renewed.is_none_or(|t| t.elapsed() > self.timeout * 3 / 4);
        if stale {
            return Err(Error::Transient(format!(
                "this run could not renew its lease on the output root for {}s{}; it stops without committing",
                renewed.map(|t| t.elapsed().as_secs()).unwrap_or(0),
                error.map(|e| format!(" ({e})")).unwrap_or_default()
            )));
        }
        let l = listing(self.store.as_ref(), &self.dir).await?;
        if let Some(newer) = l.leases.iter().find(|n| **n > self.holder.lease) {
            let other: Option<Holder> = read_json(
                self.store.as_ref(),
                &self.dir.clone().join(lease_name(*newer)),
            )
            .await?;
            return Err(Error::Transient(format!(
                "another writer took over the output root's lease ({}); this run (lease {}) stops without committing",
                other
                    .map(|h| format!("{} run {} on {} pid {}", h.command, h.run_id, h.host, h.pid))
                    .unwrap_or_else(|| format!("lease {newer}")),
                self.holder.lease
            )));
        }
        Ok(())
    }

    /// Gives the lease back, and removes the older leases' objects.
    pub async fn release(self) -> Result<()> {
        self.beat.abort();
        let n = self.holder.lease;
        let body = serde_json::to_vec(&serde_json::json!({"released_at": Utc::now()}))
            .map_err(|e| Error::Internal(e.to_string()))?;
        match self
            .store
            .put_opts(
                &self.dir.clone().join(released_name(n)),
                PutPayload::from(body),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let l = listing(self.store.as_ref(), &self.dir).await?;
        let old = |v: &[u64]| v.iter().copied().filter(|m| *m < n).collect::<Vec<_>>();
        for m in old(&l.leases) {
            let _ = self
                .store
                .delete(&self.dir.clone().join(lease_name(m)))
                .await;
        }
        for m in old(&l.heartbeats) {
            let _ = self
                .store
                .delete(&self.dir.clone().join(heartbeat_name(m)))
                .await;
        }
        for m in old(&l.released) {
            let _ = self
                .store
                .delete(&self.dir.clone().join(released_name(m)))
                .await;
        }
        tracing::info!(lease = n, "output root lease released");
        Ok(())
    }
}

async fn write_heartbeat(
    store: &dyn ObjectStore,
    path: &object_store::path::Path,
    state: &Mutex<State>,
) -> Result<()> {
    let mut hb = state.lock().expect("lease state").heartbeat.clone();
    hb.at = Some(Utc::now());
    let body = serde_json::to_vec(&hb).map_err(|e| Error::Internal(e.to_string()))?;
    let started = Instant::now();
    let result = store.put(path, PutPayload::from(body)).await;
    let mut s = state.lock().expect("lease state");
    match result {
        Ok(_) => {
            s.renewed = Some(started);
            s.error = None;
            Ok(())
        }
        Err(e) => {
            s.error = Some(e.to_string());
            Err(e.into())
        }
    }
}

async fn beat(
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    state: Arc<Mutex<State>>,
    every: Duration,
) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = write_heartbeat(store.as_ref(), &path, &state).await {
            tracing::warn!(error = %e, "could not renew the output root lease");
        }
    }
}

/// Parses a duration like `10m`, `30s`, `2h` or `500ms`.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 10m, 30s or 500ms"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(format!("'{s}': the unit must be ms, s, m or h")),
    };
    if d.is_zero() {
        return Err(format!("'{s}' must be longer than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (Storage, Url) {
        let root = Url::parse("memory://lease-test/out/").unwrap();
        let storage =
            Storage::new().with_store(&root, Arc::new(object_store::memory::InMemory::new()));
        (storage, root)
    }

    #[tokio::test]
    async fn a_second_writer_waits_and_a_released_lease_is_taken_by_the_next_number() {
        let (storage, root) = root();
        let a = Lease::acquire(&storage, &root, "run", "a", DEFAULT_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(a.lease.holder.lease, 1);
        let e = Lease::acquire(&storage, &root, "run", "b", DEFAULT_TIMEOUT)
            .await
            .unwrap_err();
        assert_eq!(e.exit_code(), 75);
        assert!(e.to_string().contains("run a"), "{e}");
        a.lease.check().await.unwrap();
        a.lease.release().await.unwrap();
        let b = Lease::acquire(&storage, &root, "run", "b", DEFAULT_TIMEOUT)
            .await
            .unwrap();
        assert_eq!(b.lease.holder.lease, 2);
        assert!(b.abandoned.is_none());
    }

    #[tokio::test]
    async fn a_lease_without_heartbeats_is_taken_over_and_its_holder_stops() {
        let (storage, root) = root();
        let short = Duration::from_millis(400);
        let a = Lease::acquire(&storage, &root, "run", "a", short)
            .await
            .unwrap();
        // The holder stalls: no heartbeat for longer than the timeout.
        a.lease.beat.abort();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let b = Lease::acquire(&storage, &root, "run", "b", short)
            .await
            .unwrap();
        assert_eq!(b.lease.holder.lease, 2);
        assert_eq!(b.abandoned.unwrap().holder.run_id, "a");
        let e = a.lease.check().await.unwrap_err();
        assert_eq!(e.exit_code(), 75);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("0s").is_err() && parse_duration("x").is_err());
    }
}
