-- ROI facts (a scratch step: read by creator_roi and performance_by, never
-- committed). One row per money fact, in the base currency, each with its
-- local date `d`, creator, campaign, platform and format:
--   attributed  touch credit of every model, net of refunds up to the run
--               date: revenue_credit x (revenue - refunded) / revenue,
--               rounded half-even per touch (so sums reconcile with
--               touch_credit), and the goods' cost (order_lines) alike;
--   incremental dark-social lift (post_lift, extended window, order signals),
--               with a standard error of its revenue;
--   cost        cost rows at the rate of the day they were incurred, rounded
--               per row; free product shipped as zero-revenue code orders, at
--               the order lines' unit cost; commissions from payout_lines at
--               the order day's rate.
-- order_id (attributed facts only) lets performance_by measure how much a
-- key's revenue varies with its count of orders.
WITH order_cogs AS (
    SELECT order_id, sum(CAST(unit_cost AS DECIMAL(38, 10)) * quantity) AS cogs
    FROM order_lines
    GROUP BY order_id
),
rates AS (
    SELECT currency, "date", rate_to_base FROM fx_rates WHERE currency <> ${base_currency}
),
attributed AS (
    SELECT t.dt AS d, t.creator_id, ct.campaign_id,
           coalesce(t.platform, 'unknown') AS platform, coalesce(t.format, 'unknown') AS format,
           t.model, t.order_id,
           t.credit * (CASE WHEN o.revenue > 0 THEN 1 - CAST(coalesce(r.refunded, 0) AS DOUBLE) / CAST(o.revenue AS DOUBLE) ELSE 1 END) AS orders,
           CASE WHEN coalesce(o.is_new_customer, false) THEN t.credit ELSE 0 END
             * (CASE WHEN o.revenue > 0 THEN 1 - CAST(coalesce(r.refunded, 0) AS DOUBLE) / CAST(o.revenue AS DOUBLE) ELSE 1 END) AS new_customers,
           CAST(round_half_even(
               CASE WHEN o.revenue > 0
                    THEN CAST(t.revenue_credit AS DECIMAL(38, 10)) * (o.revenue - coalesce(r.refunded, 0)) / nullif(o.revenue, 0)
                    ELSE CAST(t.revenue_credit AS DECIMAL(38, 10)) END, 2) AS DECIMAL(18, 2)) AS revenue,
           CAST(round_half_even(
               CASE WHEN o.revenue > 0 AND t.order_value > 0
                    THEN c.cogs * (CASE WHEN o.currency = ${base_currency} THEN CAST(1 AS DECIMAL(18, 8)) ELSE x.rate_to_base END) * t.revenue_credit / nullif(t.order_value, 0) * (o.revenue - coalesce(r.refunded, 0)) / nullif(o.revenue, 0)
                    ELSE CAST(0 AS DECIMAL(38, 10)) END, 2) AS DECIMAL(18, 2)) AS cogs
    -- Every touch of a model carries the order's value (the model's credit
    -- summed over the order), read in the same scan.
    FROM (SELECT *, sum(revenue_credit) OVER (PARTITION BY order_id, model) AS order_value
          FROM touch_credit_history) t
    JOIN orders o ON o.order_id = t.order_id
    LEFT JOIN order_refunds r ON r.order_id = t.order_id
    LEFT JOIN order_cogs c ON c.order_id = t.order_id
    LEFT JOIN rates x ON x.currency = o.currency AND x."date" = t.dt
    LEFT JOIN content ct ON ct.content_id = t.content_id
    WHERE t.creator_id IS NOT NULL AND t.dt <= ${date}
),
-- Revenue per incremental visit over all posts, per signal: turns the lift's
-- visit interval into a revenue interval (se_revenue = se_visits x this).
per_visit AS (
    SELECT signal, CASE WHEN sum(lift) > 0 THEN CAST(sum(incremental_revenue) AS DOUBLE) / sum(lift) ELSE 0 END AS rpv
    FROM post_lift_history
    WHERE "window" = 'extended' AND incremental_revenue IS NOT NULL AND dt <= ${date}
    GROUP BY signal
),
incremental AS (
    SELECT p.dt AS d, p.creator_id, ct.campaign_id, p.platform, p.format, p.content_id,
           p.incremental_orders, p.incremental_revenue,
           power((p.lift_high - p.lift_low) / (2 * 1.959963984540054) * v.rpv, 2) AS revenue_var
    FROM post_lift_history p
    JOIN per_visit v ON v.signal = p.signal
    LEFT JOIN content ct ON ct.content_id = p.content_id
    WHERE p."window" = 'extended' AND p.incremental_revenue IS NOT NULL AND p.dt <= ${date}
),
cost_rows AS (
    SELECT k.incurred_on AS d, k.creator_id, k.campaign_id,
           coalesce(ct.platform, '(not post-specific)') AS platform,
           coalesce(ct.format, '(not post-specific)') AS format,
           k.kind, k.cost_id,
           CASE WHEN k.currency = ${base_currency} THEN k.amount
                ELSE CAST(round_half_even(CAST(k.amount AS DECIMAL(38, 10)) * x.rate_to_base, 2) AS DECIMAL(18, 2)) END AS cost
    FROM costs k
    LEFT JOIN rates x ON x.currency = k.currency AND x."date" = k.incurred_on
    LEFT JOIN content ct ON ct.content_id = k.content_id
    WHERE k.incurred_on <= ${date}
),
-- Free product shipped through the shop: an order of zero revenue placed
-- with a creator's code, at its lines' unit cost (the cost rows of kind
-- free_product cover product sent outside the shop).
gifted AS (
    SELECT g.local_date AS d, g.creator_id,
           CAST(round_half_even(
               c.cogs * (CASE WHEN g.currency = ${base_currency} THEN CAST(1 AS DECIMAL(18, 8)) ELSE x.rate_to_base END),
               2) AS DECIMAL(18, 2)) AS cost
    FROM creator_code_orders g
    JOIN order_cogs c ON c.order_id = g.order_id
    LEFT JOIN rates x ON x.currency = g.currency AND x."date" = g.local_date
    WHERE g.revenue = 0 AND g.local_date <= ${date}
),
commission_rows AS (
    SELECT CAST(to_local_time(arrow_cast(l.ordered_at, ${local_ts_type})) AS DATE) AS d,
           l.creator_id, l.campaign_id, l.line_id, l.amount, l.currency
    FROM payout_lines l
    WHERE l.status NOT IN ('rejected', 'not_commissionable') AND l.ordered_at IS NOT NULL
)
-- amount: revenue for attributed and incremental facts, the cost for costs.
SELECT 'attributed' AS fact, d, creator_id, campaign_id, platform, format, model,
       orders, new_customers, revenue AS amount, cogs,
       CAST(NULL AS DOUBLE) AS revenue_var, CAST(NULL AS VARCHAR) AS cost_kind, order_id
FROM attributed
UNION ALL
SELECT 'incremental', d, creator_id, campaign_id, platform, format, NULL,
       incremental_orders, NULL, incremental_revenue, NULL, revenue_var, NULL, NULL
FROM incremental
UNION ALL
SELECT 'cost', d, creator_id, campaign_id, platform, format, NULL,
       NULL, NULL, cost, NULL, NULL, kind, NULL
FROM cost_rows
UNION ALL
SELECT 'cost', d, creator_id, NULL, '(not post-specific)', '(not post-specific)', NULL,
       NULL, NULL, cost, NULL, NULL, 'free_product', NULL
FROM gifted
UNION ALL
SELECT 'cost', c.d, c.creator_id, c.campaign_id, '(not post-specific)', '(not post-specific)', NULL,
       NULL, NULL,
       CASE WHEN c.currency = ${base_currency} THEN c.amount
            ELSE CAST(round_half_even(CAST(c.amount AS DECIMAL(38, 10)) * x.rate_to_base, 2) AS DECIMAL(18, 2)) END,
       NULL, NULL, 'commission', NULL
FROM commission_rows c
LEFT JOIN rates x ON x.currency = c.currency AND x."date" = c.d
