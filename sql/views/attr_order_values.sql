-- Every order of the attribution window [lookback_start, day_end) with its
-- local date and its revenue in the base currency at the rate of that date
-- (exact decimals, rounded half-even once). The fx_rates_window check has
-- made sure every rate exists.
WITH orders_w AS (
    SELECT order_id, ordered_at, revenue, currency,
           CAST(to_local_time(arrow_cast(ordered_at, ${local_ts_type})) AS DATE) AS order_date
    FROM orders
    WHERE ordered_at >= ${lookback_start} AND ordered_at < ${day_end}
),
rates AS (
    SELECT currency, "date", rate_to_base FROM fx_rates WHERE currency <> ${base_currency}
    UNION ALL
    SELECT ${base_currency} AS currency, d AS "date", CAST(1 AS DECIMAL(18, 8)) AS rate_to_base
    FROM (SELECT DISTINCT order_date AS d FROM orders_w)
)
SELECT w.order_id, w.ordered_at, w.order_date,
       CAST(round_half_even(w.revenue * r.rate_to_base, 2) AS DECIMAL(18, 2)) AS value
FROM orders_w w
LEFT JOIN rates r ON r.currency = w.currency AND r."date" = w.order_date
