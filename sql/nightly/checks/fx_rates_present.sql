-- Every currency with an order or refund on the day needs that day's rate:
-- a missing rate stops the run (exit 65); it is never taken as 1.
SELECT DISTINCT currency,
       ${date} AS rate_date,
       'no fx_rates row for this currency on this date' AS problem
FROM (
    SELECT currency FROM orders WHERE ordered_at >= ${day_start} AND ordered_at < ${day_end}
    UNION ALL
    SELECT currency FROM refunds WHERE refunded_at >= ${day_start} AND refunded_at < ${day_end}
) AS used
WHERE currency NOT IN (SELECT currency FROM day_rates)
