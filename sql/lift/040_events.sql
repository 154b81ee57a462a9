-- Known marketing events (optional input marketing_events) whose traffic may
-- fall in the minutes the lift reads: those starting before the end of the
-- run date and not ended before the history starts. The lift masks them from
-- the baseline and fits their responses as their own, so their traffic is
-- never split among posts.
SELECT event_id, kind, starts_at, ends_at
FROM marketing_events
WHERE starts_at < ${day_end}
  AND coalesce(ends_at, starts_at) + INTERVAL '${lift_extended_hours} hours' >= ${lift_history_days_start}
