-- creator_roi: what each creator returned for what was spent, as of the run
-- date, for the day, the week (from Monday), the month, each campaign (facts
-- tagged with the campaign, campaign_id set) and to date (from the first fact).
-- Facts come from the roi_facts scratch step (sql/roi/010_facts.sql).
-- Float facts (credit fractions, variances) are summed as decimals: a float
-- sum depends on the order rows arrive in, and results must not.
WITH periods AS (
    SELECT 'day' AS period, ${date} AS period_start
    UNION ALL SELECT 'week', CAST(date_trunc('week', ${date}) AS DATE)
    UNION ALL SELECT 'month', CAST(date_trunc('month', ${date}) AS DATE)
    UNION ALL SELECT 'to_date', (SELECT coalesce(min(d), ${date}) FROM roi_facts)
),
in_period AS (
    SELECT p.period, p.period_start, f.creator_id, '' AS campaign_key,
           f.fact, f.model, f.orders, f.new_customers, f.amount, f.cogs, f.revenue_var, f.cost_kind
    FROM roi_facts f JOIN periods p ON f.d >= p.period_start AND f.d <= ${date}
    UNION ALL
    SELECT 'campaign', CAST(to_local_time(arrow_cast(c.starts_at, ${local_ts_type})) AS DATE),
           f.creator_id, c.campaign_id,
           f.fact, f.model, f.orders, f.new_customers, f.amount, f.cogs, f.revenue_var, f.cost_kind
    FROM roi_facts f JOIN campaigns c ON c.campaign_id = f.campaign_id
    WHERE f.d <= ${date}
),
by_model AS (
    SELECT period, period_start, creator_id, campaign_key, model,
           CAST(sum(CAST(orders AS DECIMAL(38, 12))) AS DOUBLE) AS orders,
           CAST(sum(CAST(new_customers AS DECIMAL(38, 12))) AS DOUBLE) AS new_customers,
           sum(amount) AS revenue, sum(cogs) AS cogs
    FROM in_period WHERE fact = 'attributed'
    GROUP BY period, period_start, creator_id, campaign_key, model
),
attr AS (
    SELECT period, period_start, creator_id, campaign_key,
           max(CASE WHEN model = ${attribution_default_model} THEN orders END) AS orders,
           max(CASE WHEN model = ${attribution_default_model} THEN new_customers END) AS new_customers,
           max(CASE WHEN model = ${attribution_default_model} THEN revenue END) AS revenue,
           max(CASE WHEN model = ${attribution_default_model} THEN cogs END) AS cogs,
           -- Maps built from lists of plain values: an aggregate of struct
           -- values is accounted at the size of its whole input batch, which
           -- exhausts the memory pool on large data.
           map(array_agg(CAST(model AS VARCHAR) ORDER BY model),
               array_agg(CAST(revenue AS DECIMAL(18, 2)) ORDER BY model)) AS revenue_by_model,
           map(array_agg(CAST(model AS VARCHAR) ORDER BY model),
               array_agg(orders ORDER BY model)) AS orders_by_model
    FROM by_model
    GROUP BY period, period_start, creator_id, campaign_key
),
inc AS (
    SELECT period, period_start, creator_id, campaign_key,
           CAST(sum(CAST(orders AS DECIMAL(38, 12))) AS DOUBLE) AS orders, sum(amount) AS revenue,
           CAST(sum(CAST(revenue_var AS DECIMAL(38, 6))) AS DOUBLE) AS revenue_var
    FROM in_period WHERE fact = 'incremental'
    GROUP BY period, period_start, creator_id, campaign_key
),
cost AS (
    SELECT period, period_start, creator_id, campaign_key,
           sum(CASE WHEN cost_kind = 'creator_fee' THEN amount END) AS creator_fee,
           sum(CASE WHEN cost_kind = 'free_product' THEN amount END) AS free_product,
           sum(CASE WHEN cost_kind = 'shipping' THEN amount END) AS shipping,
           sum(CASE WHEN cost_kind = 'production' THEN amount END) AS production,
           sum(CASE WHEN cost_kind = 'platform_spend' THEN amount END) AS platform_spend,
           sum(CASE WHEN cost_kind = 'platform_fee' THEN amount END) AS platform_fee,
           sum(CASE WHEN cost_kind = 'other' THEN amount END) AS other_cost,
           sum(CASE WHEN cost_kind = 'commission' THEN amount END) AS commission,
           sum(amount) AS total_cost
    FROM in_period WHERE fact = 'cost'
    GROUP BY period, period_start, creator_id, campaign_key
),
-- Goods' cost per unit of attributed revenue, per period (over every
-- creator; for a campaign row, over the campaign's facts): applied to the
-- incremental revenue, whose orders are not known one by one.
cogs_ratio AS (
    SELECT period, period_start, campaign_key,
           CASE WHEN sum(revenue) > 0 THEN CAST(sum(cogs) AS DOUBLE) / CAST(sum(revenue) AS DOUBLE) ELSE 0 END AS ratio
    FROM attr
    GROUP BY period, period_start, campaign_key
),
keys AS (
    SELECT DISTINCT period, period_start, creator_id, campaign_key FROM in_period
),
joined AS (
    SELECT k.period, k.period_start, k.creator_id, nullif(k.campaign_key, '') AS campaign_id,
           coalesce(a.orders, 0) AS attributed_orders,
           coalesce(i.orders, 0) AS incremental_orders,
           coalesce(a.new_customers, 0) AS new_customers,
           CAST(coalesce(a.revenue, 0) AS DECIMAL(18, 2)) AS attributed_revenue,
           CAST(coalesce(i.revenue, 0) AS DECIMAL(18, 2)) AS incremental_revenue,
           coalesce(i.revenue_var, 0) AS revenue_var,
           a.revenue_by_model, a.orders_by_model,
           CAST(coalesce(a.cogs, 0) AS DECIMAL(18, 2)) AS attributed_cogs,
           CAST(round_half_even(CAST(coalesce(i.revenue, 0) AS DECIMAL(38, 10)) * CAST(coalesce(r.ratio, 0) AS DECIMAL(38, 10)), 2) AS DECIMAL(18, 2)) AS incremental_cogs,
           coalesce(r.ratio, 0) AS cogs_ratio,
           CAST(coalesce(c.creator_fee, 0) AS DECIMAL(18, 2)) AS creator_fee,
           CAST(coalesce(c.free_product, 0) AS DECIMAL(18, 2)) AS free_product,
           CAST(coalesce(c.shipping, 0) AS DECIMAL(18, 2)) AS shipping,
           CAST(coalesce(c.production, 0) AS DECIMAL(18, 2)) AS production,
           CAST(coalesce(c.platform_spend, 0) AS DECIMAL(18, 2)) AS platform_spend,
           CAST(coalesce(c.platform_fee, 0) AS DECIMAL(18, 2)) AS platform_fee,
           CAST(coalesce(c.other_cost, 0) AS DECIMAL(18, 2)) AS other_cost,
           CAST(coalesce(c.commission, 0) AS DECIMAL(18, 2)) AS commission,
           CAST(coalesce(c.total_cost, 0) AS DECIMAL(18, 2)) AS total_cost
    FROM keys k
    LEFT JOIN attr a ON a.period = k.period AND a.period_start = k.period_start AND a.creator_id = k.creator_id AND a.campaign_key = k.campaign_key
    LEFT JOIN inc i ON i.period = k.period AND i.period_start = k.period_start AND i.creator_id = k.creator_id AND i.campaign_key = k.campaign_key
    LEFT JOIN cost c ON c.period = k.period AND c.period_start = k.period_start AND c.creator_id = k.creator_id AND c.campaign_key = k.campaign_key
    LEFT JOIN cogs_ratio r ON r.period = k.period AND r.period_start = k.period_start AND r.campaign_key = k.campaign_key
),
measured AS (
    SELECT *,
           CAST(attributed_revenue + incremental_revenue AS DECIMAL(18, 2)) AS combined_revenue,
           CAST(attributed_revenue + incremental_revenue - attributed_cogs - incremental_cogs - total_cost AS DECIMAL(18, 2)) AS contribution_margin,
           1.959963984540054 * sqrt(revenue_var) AS half_width
    FROM joined
)
SELECT period, period_start, creator_id, campaign_id,
       attributed_orders + incremental_orders AS orders,
       attributed_orders, incremental_orders, new_customers,
       attributed_revenue, incremental_revenue, combined_revenue,
       revenue_by_model AS attributed_revenue_by_model,
       orders_by_model AS attributed_orders_by_model,
       CAST(round_half_even(CAST(CAST(incremental_revenue AS DOUBLE) - half_width AS DECIMAL(38, 4)), 2) AS DECIMAL(18, 2)) AS incremental_revenue_low,
       CAST(round_half_even(CAST(CAST(incremental_revenue AS DOUBLE) + half_width AS DECIMAL(38, 4)), 2) AS DECIMAL(18, 2)) AS incremental_revenue_high,
       CAST(round_half_even(CAST(CAST(combined_revenue AS DOUBLE) - half_width AS DECIMAL(38, 4)), 2) AS DECIMAL(18, 2)) AS combined_revenue_low,
       CAST(round_half_even(CAST(CAST(combined_revenue AS DOUBLE) + half_width AS DECIMAL(38, 4)), 2) AS DECIMAL(18, 2)) AS combined_revenue_high,
       creator_fee, free_product, shipping, production, platform_spend, platform_fee, other_cost, commission,
       total_cost,
       CAST(attributed_cogs + incremental_cogs AS DECIMAL(18, 2)) AS cost_of_goods,
       contribution_margin,
       CASE WHEN attributed_orders + incremental_orders > 0 AND total_cost > 0
            THEN CAST(round_half_even(CAST(total_cost AS DECIMAL(38, 10)) / nullif(CAST(attributed_orders + incremental_orders AS DECIMAL(38, 10)), 0), 2) AS DECIMAL(18, 2)) END AS cpa,
       CASE WHEN total_cost > 0 THEN CAST(combined_revenue AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roas,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) - half_width) / CAST(total_cost AS DOUBLE) END AS roas_low,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) + half_width) / CAST(total_cost AS DOUBLE) END AS roas_high,
       CASE WHEN total_cost > 0 THEN CAST(contribution_margin AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roi,
       CASE WHEN total_cost > 0 THEN (CAST(contribution_margin AS DOUBLE) - half_width * (1 - cogs_ratio)) / CAST(total_cost AS DOUBLE) END AS roi_low,
       CASE WHEN total_cost > 0 THEN (CAST(contribution_margin AS DOUBLE) + half_width * (1 - cogs_ratio)) / CAST(total_cost AS DOUBLE) END AS roi_high
FROM measured
ORDER BY period, period_start, creator_id, campaign_id
