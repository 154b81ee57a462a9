-- Orders, new customers, revenue and refunds of the day per currency, with
-- revenue and refunds converted to the base currency at the day's rate
-- (exact decimals, rounded half-even once, at the end).
WITH o AS (
    SELECT currency,
           count(*) AS orders,
           sum(CASE WHEN is_new_customer THEN 1 ELSE 0 END) AS new_customer_orders,
           sum(revenue) AS revenue
    FROM orders
    WHERE ordered_at >= ${day_start} AND ordered_at < ${day_end}
    GROUP BY currency
),
r AS (
    SELECT currency, count(*) AS refunds, sum(amount) AS refunded
    FROM refunds
    WHERE refunded_at >= ${day_start} AND refunded_at < ${day_end}
    GROUP BY currency
),
currencies AS (
    SELECT currency FROM o UNION SELECT currency FROM r
),
joined AS (
    SELECT c.currency,
           coalesce(o.orders, 0) AS orders,
           coalesce(o.new_customer_orders, 0) AS new_customer_orders,
           coalesce(o.revenue, 0) AS revenue,
           coalesce(r.refunds, 0) AS refunds,
           coalesce(r.refunded, 0) AS refunded,
           rates.rate_to_base
    FROM currencies c
    LEFT JOIN o ON o.currency = c.currency
    LEFT JOIN r ON r.currency = c.currency
    LEFT JOIN day_rates rates ON rates.currency = c.currency
)
SELECT currency,
       orders,
       new_customer_orders,
       CAST(revenue AS DECIMAL(18, 2)) AS revenue,
       CAST(round_half_even(revenue * rate_to_base, 2) AS DECIMAL(18, 2)) AS revenue_base,
       refunds,
       CAST(refunded AS DECIMAL(18, 2)) AS refunded,
       CAST(round_half_even(refunded * rate_to_base, 2) AS DECIMAL(18, 2)) AS refunded_base,
       rate_to_base
FROM joined
ORDER BY currency
