-- One row per (creator, order) where the order used a code of that creator
-- that was valid when the order was placed. Codes match trimmed and
-- case-insensitively; a code not in `codes` is brand-wide and matches no one.
-- `redemptions` counts how often the creator's codes appear on the order.
WITH order_codes AS (
    SELECT order_id, ordered_at, revenue, currency, is_new_customer,
           upper(trim(code)) AS code
    FROM (SELECT order_id, ordered_at, revenue, currency, is_new_customer,
                 unnest(discount_codes) AS code
          FROM orders)
)
SELECT k.creator_id,
       oc.order_id,
       oc.ordered_at,
       CAST(to_local_time(arrow_cast(oc.ordered_at, ${local_ts_type})) AS DATE) AS local_date,
       oc.revenue,
       oc.currency,
       oc.is_new_customer,
       count(*) AS redemptions
FROM order_codes oc
JOIN codes k ON oc.code = upper(trim(k.code))
WHERE (k.valid_from IS NULL OR oc.ordered_at >= k.valid_from)
  AND (k.valid_to IS NULL OR oc.ordered_at <= k.valid_to)
GROUP BY k.creator_id, oc.order_id, oc.ordered_at, oc.revenue, oc.currency, oc.is_new_customer
