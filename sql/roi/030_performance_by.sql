-- performance_by: the month and to-date measures by creator, platform,
-- format and campaign structure, ranked without rewarding luck.
--
-- Rank rule: by ROAS shrunk toward the dimension's pooled ROAS, with a
-- prior estimated from the data (empirical Bayes, docs/roi.md):
--   v     the sampling variance of a key's ROAS: its attributed revenue as a
--         compound Poisson sum (the sum of its orders' squared amounts), the
--         lift's revenue variance, and one average order's square (so a key
--         with no orders is not certain), over total_cost squared;
--   tau2  how much true ROAS differs between the keys of the dimension: the
--         DerSimonian-Laird moment estimate from the keys' ROAS and v;
--   credibility = tau2 / (tau2 + v), roas_shrunk = credibility x roas +
--         (1 - credibility) x pooled ROAS.
-- A key with 6 orders has a large v and keeps little of its own ROAS unless
-- the keys really differ that much. Keys without cost have no ROAS and rank
-- last; ties go to the higher own ROAS, then the smaller key. Costs not tied to a post (fees, free
-- product, commissions) carry the key '(not post-specific)' under platform
-- and format.
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
    SELECT period, period_start, 'creator' AS dimension, creator_id AS key, fact, order_id, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'platform', platform, fact, order_id, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'format', format, fact, order_id, orders, amount, cogs, revenue_var FROM f
    UNION ALL
    SELECT period, period_start, 'campaign_structure', campaign_structure, fact, order_id, orders, amount, cogs, revenue_var FROM f
),
-- Each order's attributed revenue under a key (an order may reach a key
-- through several touches), squared exactly as a decimal.
per_order AS (
    SELECT period, period_start, dimension, key, CAST(sum(amount) AS DECIMAL(18, 2)) AS a
    FROM keyed WHERE fact = 'attributed'
    GROUP BY period, period_start, dimension, key, order_id
),
count_var AS (
    SELECT period, period_start, dimension, key, sum(a * a) AS attributed_var, count(*) AS n_orders
    FROM per_order
    GROUP BY period, period_start, dimension, key
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
           CAST(coalesce(cv.attributed_var, 0) AS DOUBLE) + a.revenue_var
             + CAST(sum(cv.attributed_var) OVER w AS DOUBLE) / CAST(greatest(sum(cv.n_orders) OVER w, 1) AS DOUBLE) AS total_var,
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
    LEFT JOIN count_var cv ON cv.period = a.period AND cv.period_start = a.period_start
                          AND cv.dimension = a.dimension AND (cv.key IS NOT DISTINCT FROM a.key)
    WINDOW w AS (PARTITION BY a.period, a.period_start, a.dimension)
),
scored AS (
    SELECT *,
           CASE WHEN total_cost > 0 THEN CAST(combined_revenue AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roas,
           CASE WHEN total_cost > 0 THEN total_var / power(CAST(total_cost AS DOUBLE), 2) END AS v
    FROM measured
),
-- The DerSimonian-Laird moments over the keys with a ROAS, with weights
-- 1 / v; the sums are decimals so that they do not depend on row order.
moments AS (
    SELECT period, period_start, dimension,
           count(*) AS k,
           CAST(sum(CAST(1 / v AS DECIMAL(38, 10))) AS DOUBLE) AS sw,
           CAST(sum(CAST(1 / (v * v) AS DECIMAL(38, 6))) AS DOUBLE) AS sw2,
           CAST(sum(CAST(roas / v AS DECIMAL(38, 10))) AS DOUBLE) AS swy,
           CAST(sum(CAST(roas * roas / v AS DECIMAL(38, 10))) AS DOUBLE) AS swy2
    FROM scored WHERE roas IS NOT NULL AND v > 0
    GROUP BY period, period_start, dimension
),
prior AS (
    SELECT period, period_start, dimension,
           CASE WHEN k >= 2 THEN greatest(0, (swy2 - swy * swy / sw - (k - 1)) / (sw - sw2 / sw)) END AS tau2
    FROM moments
),
shrunk AS (
    SELECT s.*, p.tau2,
           CASE WHEN s.roas IS NOT NULL THEN coalesce(p.tau2 / nullif(p.tau2 + s.v, 0), 0) END AS credibility
    FROM scored s
    LEFT JOIN prior p ON p.period = s.period AND p.period_start = s.period_start AND p.dimension = s.dimension
),
ranked AS (
    SELECT *, credibility * roas + (1 - credibility) * coalesce(pooled_roas, roas) AS roas_shrunk
    FROM shrunk
)
SELECT period, period_start, dimension, key,
       orders, attributed_orders, incremental_orders,
       attributed_revenue, incremental_revenue, combined_revenue,
       total_cost, contribution_margin,
       roas,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) - half_width) / CAST(total_cost AS DOUBLE) END AS roas_low,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) + half_width) / CAST(total_cost AS DOUBLE) END AS roas_high,
       CASE WHEN total_cost > 0 THEN CAST(contribution_margin AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roi,
       sqrt(v) AS roas_se,
       sqrt(tau2) AS prior_sd,
       credibility,
       roas_shrunk,
       -- With no evidence that the keys differ (tau2 = 0) every key sits at
       -- the pooled ROAS; its own ROAS then orders them.
       CAST(row_number() OVER (PARTITION BY period, period_start, dimension
                               ORDER BY roas_shrunk DESC NULLS LAST, roas DESC NULLS LAST, key) AS INT) AS rank
FROM ranked
ORDER BY period, dimension, rank
