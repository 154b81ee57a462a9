-- Posts published from the first day the lift looks back to, to the end of
-- the run date: the events whose responses are estimated.
SELECT content_id, creator_id, platform, format, published_at
FROM content
WHERE published_at >= ${lift_history_days_start} AND published_at < ${day_end}
