-- Every currency with an order in placement_history_days needs a rate on
-- each order's local date: a missing rate stops the run (exit 65); it is
-- never taken as 1.
SELECT DISTINCT currency,
       order_date AS rate_date,
       'no fx_rates row for this currency on this date' AS problem
FROM (
    SELECT currency,
           CAST(to_local_time(arrow_cast(ordered_at, ${local_ts_type})) AS DATE) AS order_date
    FROM orders
    WHERE ordered_at >= ${placement_history_days_start} AND ordered_at < ${day_end}
      AND currency <> ${base_currency}
) o
WHERE NOT EXISTS (
    SELECT 1 FROM fx_rates r WHERE r.currency = o.currency AND r."date" = o.order_date
)
ORDER BY rate_date, currency
