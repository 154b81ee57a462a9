-- Every cost row, gifted order and commission line needs its day's exchange rate;
-- a missing one stops the step naming the currency and the date (never 1.0).
WITH needed AS (
    SELECT DISTINCT 'costs' AS source, currency, incurred_on AS "date"
    FROM costs
    WHERE incurred_on <= ${date} AND currency <> ${base_currency}
    UNION
    SELECT DISTINCT 'order_lines', currency, local_date
    FROM creator_code_orders
    WHERE revenue = 0 AND local_date <= ${date} AND currency <> ${base_currency}
    UNION
    SELECT DISTINCT 'payout_lines', currency,
           CAST(to_local_time(arrow_cast(ordered_at, ${local_ts_type})) AS DATE)
    FROM payout_lines
    WHERE ordered_at IS NOT NULL AND currency <> ${base_currency}
      AND status NOT IN ('rejected', 'not_commissionable')
)
SELECT n.source, n.currency, n."date", 'no fx_rates row for this currency and date' AS problem
FROM needed n
LEFT JOIN fx_rates f ON f.currency = n.currency AND f."date" = n."date"
WHERE f.rate_to_base IS NULL
ORDER BY n."date", n.currency
