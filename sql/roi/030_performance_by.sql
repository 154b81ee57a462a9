-- performance_by: the month and to-date measures by creator, platform,
-- format and campaign structure, ranked without rewarding luck.
--
-- Rank rule: by ROAS shrunk toward the dimension's pooled ROAS with weight
-- Z = orders / (orders + roi_prior_orders); a key with 3 orders keeps about
-- 13 % of its own ROAS (prior 20), one with 200 orders about 91 %. Keys
-- without cost have no ROAS and rank last; ties go to the smaller key.
-- Costs not tied to a post (fees, free product, commissions) carry the key
-- '(not post-specific)' under platform and format.
WITH periods AS (
    SELECT 'month' AS period, CAST(date_trunc('month', ${date}) AS DATE) AS period_start
    UNION ALL SELECT 'to_date', (SELECT coalesce(min(d), ${date}) FROM roi_facts)
),
f AS (
    SELECT p.period, p.period_start, x.*,
           coalesce(c.structure, 'none') AS campaign_structure
    FROM roi_facts x
    JOIN periods p ON x.d >= p.period_start AND x.d <= ${date}
    LEFT JOIN campaigns c ON c.campaign_id = x.campaign_id
    WHERE x.fact <> 'attributed' OR x.model = ${attribution_default_model}
),
keyed AS (
    SELECT period, period_start, 'creator' AS dimension, creator_id AS key, fact, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'platform', platform, fact, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'format', format, fact, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'campaign_structure', campaign_structure, fact, orders, amount, cogs, revenue_var FROM f
),
agg AS (
    SELECT period, period_start, dimension, key,
           coalesce(CAST(sum(CASE WHEN fact = 'attributed' THEN CAST(orders AS DECIMAL(38, 12)) END) AS DOUBLE), 0) AS attributed_orders,
           coalesce(CAST(sum(CASE WHEN fact = 'incremental' THEN CAST(orders AS DECIMAL(38, 12)) END) AS DOUBLE), 0) AS incremental_orders,
           CAST(coalesce(sum(CASE WHEN fact = 'attributed' THEN amount END), 0) AS DECIMAL(18, 2)) AS attributed_revenue,
           CAST(coalesce(sum(CASE WHEN fact = 'incremental' THEN amount END), 0) AS DECIMAL(18, 2)) AS incremental_revenue,
           CAST(coalesce(sum(CASE WHEN fact = 'attributed' THEN cogs END), 0) AS DECIMAL(18, 2)) AS attributed_cogs,
           CAST(coalesce(sum(CASE WHEN fact = 'cost' THEN amount END), 0) AS DECIMAL(18, 2)) AS total_cost,
           coalesce(CAST(sum(CAST(revenue_var AS DECIMAL(38, 6))) AS DOUBLE), 0) AS revenue_var
    FROM keyed
    GROUP BY period, period_start, dimension, key
),
measured AS (
    SELECT a.*,
           attributed_orders + incremental_orders AS orders,
           CAST(attributed_revenue + incremental_revenue AS DECIMAL(18, 2)) AS combined_revenue,
           1.959963984540054 * sqrt(revenue_var) AS half_width,
           CAST(attributed_revenue + incremental_revenue - attributed_cogs - total_cost
                - round_half_even(CAST(incremental_revenue AS DECIMAL(38, 10))
                    * CAST(CASE WHEN sum(attributed_revenue) OVER w > 0
                                THEN CAST(sum(attributed_cogs) OVER w AS DOUBLE) / CAST(sum(attributed_revenue) OVER w AS DOUBLE)
                                ELSE 0 END AS DECIMAL(38, 10)), 2) AS DECIMAL(18, 2)) AS contribution_margin,
           CASE WHEN sum(total_cost) OVER w > 0
                THEN CAST(sum(attributed_revenue + incremental_revenue) OVER w AS DOUBLE) / CAST(sum(total_cost) OVER w AS DOUBLE) END AS pooled_roas
    FROM agg a
    WINDOW w AS (PARTITION BY period, period_start, dimension)
),
scored AS (
    SELECT *,
           CASE WHEN total_cost > 0 THEN CAST(combined_revenue AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roas,
           greatest(orders, 0) / (greatest(orders, 0) + ${roi_prior_orders}) AS credibility
    FROM measured
)
SELECT period, period_start, dimension, key,
       orders, attributed_orders, incremental_orders,
       attributed_revenue, incremental_revenue, combined_revenue,
       total_cost, contribution_margin,
       roas,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) - half_width) / CAST(total_cost AS DOUBLE) END AS roas_low,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) + half_width) / CAST(total_cost AS DOUBLE) END AS roas_high,
       CASE WHEN total_cost > 0 THEN CAST(contribution_margin AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roi,
       credibility,
       CASE WHEN roas IS NOT NULL THEN credibility * roas + (1 - credibility) * coalesce(pooled_roas, roas) END AS roas_shrunk,
       CAST(row_number() OVER (PARTITION BY period, period_start, dimension
                               ORDER BY CASE WHEN roas IS NOT NULL THEN credibility * roas + (1 - credibility) * coalesce(pooled_roas, roas) END DESC NULLS LAST, key) AS INT) AS rank
FROM scored
ORDER BY period, dimension, rank
