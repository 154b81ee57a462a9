//! Fault injection for the tests of recovery: named points in a run where a
//! test can make the process die as if it were killed, stall, or fail.
//!
//! `HALO_FAIL_AT=<point>` aborts the process at the point (no destructors run,
//! like `kill -9`); `HALO_FAIL_AT=<point>:<n>` at its n-th pass;
//! `HALO_FAIL_AT=error:<point>` makes [`check`] return an internal error
//! there (exit 1); `HALO_FAIL_AT=panic:<point>` panics there.
//! `HALO_PAUSE_AT=<point>:<file>` waits at the point until `<file>` exists.
//! `HALO_FAIL_AFTER_COMMITS=<n>` is `HALO_FAIL_AT=after_commit:<n>`.
//! Without these variables every point is a no-op.
//!
//! Points: `before_commit` (a date's outputs are staged, nothing is
//! committed), `after_commit` (after each table commit), `before_runs_row`
//! (every table of the date is committed, its `runs` row is not),
//! `after_date` (after each date of a backfill), `recovery_table` (recovery
//! rolled one table back), `recovery_recorded` (recovery recorded a run in
//! `runs` but has not removed its marker), `before_commit_table` (before each
//! table commit, for `HALO_PAUSE_AT`).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::{Error, Result};

static PASSES: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

fn passes(point: &str) -> u64 {
    let mut g = PASSES.lock().expect("fault counters");
    let m = g.get_or_insert_with(HashMap::new);
    let n = m.entry(point.to_string()).or_insert(0);
    *n += 1;
    *n
}

fn armed() -> Option<String> {
    if let Ok(v) = std::env::var("HALO_FAIL_AT") {
        return Some(v);
    }
    std::env::var("HALO_FAIL_AFTER_COMMITS")
        .ok()
        .map(|n| format!("after_commit:{n}"))
}

/// A kill point: aborts (or panics) here when a test asked for it.
pub fn point(name: &str) {
    let Some(spec) = armed() else {
        pause(name);
        return;
    };
    let (mode, rest) = match spec.split_once(':') {
        Some(("panic", rest)) => ("panic", rest.to_string()),
        Some(("error", _)) => {
            pause(name);
            return;
        }
        _ => ("abort", spec.clone()),
    };
    let (target, nth) = match rest.split_once(':') {
        Some((t, n)) => (t.to_string(), n.parse::<u64>().unwrap_or(1)),
        None => (rest.clone(), 1),
    };
    if target == name && passes(name) == nth {
        tracing::error!(point = name, "fault injection: stopping here");
        if mode == "panic" {
            panic!("fault injection at {name}");
        }
        std::process::abort();
    }
    pause(name);
}

/// A point where a test can ask for an internal error instead of a crash.
pub fn check(name: &str) -> Result<()> {
    match armed() {
        Some(spec) if spec == format!("error:{name}") => Err(Error::Internal(format!(
            "fault injection at {name} (HALO_FAIL_AT)"
        ))),
        _ => Ok(()),
    }
}

fn pause(name: &str) {
    let Ok(spec) = std::env::var("HALO_PAUSE_AT") else {
        return;
    };
    let Some((target, file)) = spec.split_once(':') else {
        return;
    };
    if target != name {
        return;
    }
    tracing::warn!(point = name, file, "fault injection: waiting for the file");
    while !std::path::Path::new(file).exists() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
