-- The code_leaks built-in's history: the committed code_usage partitions of
-- the last code_history_days days before the run (code_usage_history), with
-- the run date's own rows just staged. One row per code and day.
SELECT code, creator_id, dt, redemptions, touched, coupon, outside_audience,
       country_known, new_customers, untouched_revenue, untouched_commission
FROM code_usage_history
WHERE dt > ${date} - INTERVAL '${code_history_days} days' AND dt <= ${date}
ORDER BY code, dt
