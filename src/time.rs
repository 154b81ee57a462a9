//! Calendar helpers every layer needs: Arrow's `Date32` value of a date, and
//! the instant a local day starts at.
//!
//! Instants inside halo are UTC microseconds; days are cut at midnight in the
//! job's time zone, DST days included (a day can last 23 or 25 hours).

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;

/// Days from 1970-01-01, the Arrow `Date32` value of a date.
pub fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// The instant (UTC microseconds) a local day starts at in `tz`.
pub fn day_start_micros(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    // On a DST gap at midnight the day starts at the first valid instant.
    let local = tz
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .expect("a day has a first instant");
    local.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bounds_follow_the_time_zone_across_dst() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(); // DST ends: a 25-hour day
        let len = day_start_micros(d.succ_opt().unwrap(), tz) - day_start_micros(d, tz);
        assert_eq!(len, 25 * 3_600_000_000);
        let utc: Tz = "UTC".parse().unwrap();
        assert_eq!(
            day_start_micros(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(), utc),
            86_400_000_000
        );
        assert_eq!(
            days_since_epoch(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()),
            1
        );
    }
}
