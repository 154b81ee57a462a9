//! The minute grid a series lives on, and the local wall-clock calendar that
//! says which minute is "the same minute of the week" in an earlier week.
//!
//! Seasonality follows people's clocks, not UTC: 19:00 local is 19:00 local
//! in summer and winter. So the same minute of an earlier week is found by
//! local wall time, which keeps the seasonal profile aligned across
//! daylight-saving changes (a local minute that did not exist that week, or
//! an hour that repeated, is simply skipped or taken once).

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

/// Minutes `[start, start + len)` since the Unix epoch (UTC), with each
/// minute's offset of local time from UTC, in minutes.
#[derive(Debug, Clone)]
pub struct Grid {
    /// First minute, in minutes since the Unix epoch.
    pub start: i64,
    /// Number of minutes.
    pub len: usize,
    /// Local-minus-UTC offset of every minute (empty = UTC throughout).
    offsets: Vec<i16>,
    /// Length of the seasonal period in minutes (10 080 = one week).
    pub period: usize,
}

impl Grid {
    /// A grid with the offsets of time zone `tz` and a one-week period.
    pub fn new(start: i64, len: usize, tz: Tz) -> Self {
        // Offsets change only on whole minutes; sampling every 15 minutes and
        // refining inside a changing quarter keeps this cheap for a year.
        let offset_at = |m: i64| -> i16 {
            let t = chrono::Utc
                .timestamp_opt(m * 60, 0)
                .single()
                .expect("minute in range");
            (tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc()
                / 60) as i16
        };
        let mut offsets = Vec::with_capacity(len);
        let mut m = 0usize;
        while m < len {
            let q_end = (m + 15).min(len);
            let a = offset_at(start + m as i64);
            let b = offset_at(start + q_end as i64 - 1);
            if a == b {
                offsets.extend(std::iter::repeat_n(a, q_end - m));
            } else {
                offsets.extend((m..q_end).map(|i| offset_at(start + i as i64)));
            }
            m = q_end;
        }
        Grid {
            start,
            len,
            offsets,
            period: 10_080,
        }
    }

    /// A grid in UTC with a custom seasonal period (tests and synthetic data).
    pub fn utc(start: i64, len: usize, period: usize) -> Self {
        Grid {
            start,
            len,
            offsets: Vec::new(),
            period,
        }
    }

    fn offset(&self, i: usize) -> i64 {
        self.offsets.get(i).copied().map_or(0, i64::from)
    }

    /// Local wall-clock minute of grid minute `i`.
    fn local(&self, i: usize) -> i64 {
        self.start + i as i64 + self.offset(i)
    }

    /// The grid minute whose local wall time is that of `i` shifted by
    /// `periods` seasonal periods (negative = earlier), if it exists.
    pub fn seasonal_shift(&self, i: usize, periods: i64) -> Option<usize> {
        let shift = periods * self.period as i64;
        let want = self.local(i) + shift;
        let base = i as i64 + shift;
        // Same offset in the other week, or one differing by the DST step.
        for cand in [base, base + self.offset(i) - self.offset_clamped(base)] {
            if cand >= 0 && (cand as usize) < self.len && self.local(cand as usize) == want {
                return Some(cand as usize);
            }
        }
        None
    }

    fn offset_clamped(&self, i: i64) -> i64 {
        if i < 0 || i as usize >= self.len {
            0
        } else {
            self.offset(i as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_local_minute_a_week_earlier_across_the_dst_change() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026-10-26 00:00 UTC .. 2026-11-09 00:00 UTC; DST ends 2026-11-01 06:00 UTC.
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 10, 26, 0, 0, 0)
            .unwrap()
            .timestamp()
            / 60;
        let g = Grid::new(start, 14 * 1440, tz);
        // Minute 8 days in = 2026-11-03 00:00 UTC = 11-02 19:00 EST; a week
        // earlier 19:00 EDT = 10-26 23:00 UTC: 7 days plus one hour back.
        let i = (8 * 1440) as usize;
        let j = g.seasonal_shift(i, -1).unwrap();
        assert_eq!(i - j, 7 * 1440 + 60);
        // In UTC the shift is exactly a week.
        let u = Grid::utc(start, 14 * 1440, 10_080);
        assert_eq!(u.seasonal_shift(i, -1), Some(i - 10_080));
        assert_eq!(u.seasonal_shift(10, -1), None);
        // The repeated 01:xx hour of 2026-11-01 (local) maps back once: both
        // UTC minutes 05:30 and 06:30 are 01:30 local; a week later, 01:30
        // EST is 06:30 UTC on 2026-11-08.
        let a = (6 * 1440 + 5 * 60 + 30) as usize; // 11-01 05:30 UTC = 01:30 EDT
        let b = a + 60; // 06:30 UTC = 01:30 EST
        assert_eq!(g.seasonal_shift(a, 1), Some(b + 7 * 1440));
        assert_eq!(g.seasonal_shift(b, 1), Some(b + 7 * 1440));
    }
}
