-- The run date's exchange rate of every currency into the base currency;
-- the base currency itself is 1. A currency without a row has no rate: the
-- fx_rates_present check stops the run rather than guess one.
SELECT currency, rate_to_base
FROM fx_rates
WHERE "date" = ${date} AND currency <> ${base_currency}
UNION ALL
SELECT ${base_currency} AS currency, CAST(1 AS DECIMAL(18, 8)) AS rate_to_base
