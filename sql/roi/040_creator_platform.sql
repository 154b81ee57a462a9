-- creator_platform: each creator per platform and format, for the month and
-- to date: the one cross-platform view of a creator. Reach (posts published
-- in the period, their views, clicks on their links, dark-social incremental
-- visits) beside money (the roi_facts of the period: attributed revenue of
-- the default model, incremental revenue, goods, costs).
--
-- Costs tied to a post stay with its platform and format. Costs not tied to
-- one (fees, free product, commissions) are the creator's shared costs:
-- split over the creator's platform and format rows in proportion to the
-- posts each published in the period, to the cent by largest remainder (so
-- the rows sum to the creator's costs). A creator with no post in the
-- period splits them evenly over its rows, and one with no row at all
-- keeps them on a row with platform and format '(not post-specific)'.
-- Revenue from touches without a post (a code typed in, say) is on the row
-- 'unknown'.
WITH periods AS (
    SELECT 'month' AS period, CAST(date_trunc('month', ${date}) AS DATE) AS period_start
    UNION ALL SELECT 'to_date', (SELECT coalesce(min(d), ${date}) FROM roi_facts)
),
f AS (
    SELECT p.period, p.period_start, x.*
    FROM roi_facts x
    JOIN periods p ON x.d >= p.period_start AND x.d <= ${date}
    WHERE x.fact <> 'attributed' OR x.model = ${attribution_default_model}
),
posts AS (
    SELECT content_id, creator_id, platform, format, views, link_ids, published_at,
           CAST(to_local_time(arrow_cast(published_at, ${local_ts_type})) AS DATE) AS d
    FROM content
    WHERE published_at < ${day_end}
),
reach AS (
    SELECT p.period, p.period_start, c.creator_id, c.platform, c.format,
           count(*) AS posts, sum(c.views) AS views
    FROM posts c JOIN periods p ON c.d >= p.period_start
    GROUP BY p.period, p.period_start, c.creator_id, c.platform, c.format
),
-- A click counts for the latest post carrying its link published before it.
click_posts AS (
    SELECT k.click_id, CAST(to_local_time(arrow_cast(k.clicked_at, ${local_ts_type})) AS DATE) AS d,
           c.creator_id, c.platform, c.format,
           row_number() OVER (PARTITION BY k.click_id ORDER BY c.published_at DESC, c.content_id DESC) AS nth
    FROM clicks k
    JOIN (SELECT content_id, creator_id, platform, format, published_at, unnest(link_ids) AS link_id FROM posts) c
      ON c.link_id = k.link_id AND c.published_at <= k.clicked_at
    WHERE k.clicked_at < ${day_end}
),
clicked AS (
    SELECT p.period, p.period_start, k.creator_id, k.platform, k.format, count(*) AS clicks
    FROM click_posts k JOIN periods p ON k.d >= p.period_start
    WHERE k.nth = 1
    GROUP BY p.period, p.period_start, k.creator_id, k.platform, k.format
),
-- The same lift rows roi_facts reads (extended window, order signals).
visits AS (
    SELECT p.period, p.period_start, l.creator_id, l.platform, l.format, CAST(sum(CAST(l.lift AS DECIMAL(38, 6))) AS DOUBLE) AS incremental_visits
    FROM post_lift_history l JOIN periods p ON l.dt >= p.period_start AND l.dt <= ${date}
    WHERE l."window" = 'extended' AND l.incremental_revenue IS NOT NULL
    GROUP BY p.period, p.period_start, l.creator_id, l.platform, l.format
),
money AS (
    SELECT period, period_start, creator_id, platform, format,
           coalesce(CAST(sum(CASE WHEN fact = 'attributed' THEN CAST(orders AS DECIMAL(38, 12)) END) AS DOUBLE), 0) AS attributed_orders,
           coalesce(CAST(sum(CASE WHEN fact = 'incremental' THEN CAST(orders AS DECIMAL(38, 12)) END) AS DOUBLE), 0) AS incremental_orders,
           CAST(coalesce(sum(CASE WHEN fact = 'attributed' THEN amount END), 0) AS DECIMAL(18, 2)) AS attributed_revenue,
           CAST(coalesce(sum(CASE WHEN fact = 'incremental' THEN amount END), 0) AS DECIMAL(18, 2)) AS incremental_revenue,
           CAST(coalesce(sum(CASE WHEN fact = 'attributed' THEN cogs END), 0) AS DECIMAL(18, 2)) AS attributed_cogs,
           CAST(coalesce(sum(CASE WHEN fact = 'cost' AND platform <> '(not post-specific)' THEN amount END), 0) AS DECIMAL(18, 2)) AS post_costs,
           coalesce(CAST(sum(CAST(revenue_var AS DECIMAL(38, 6))) AS DOUBLE), 0) AS revenue_var
    FROM f
    WHERE fact <> 'cost' OR platform <> '(not post-specific)'
    GROUP BY period, period_start, creator_id, platform, format
),
-- Each order's attributed revenue on a row, squared exactly (see
-- performance_by: a compound Poisson variance).
per_order AS (
    SELECT period, period_start, creator_id, platform, format, CAST(sum(amount) AS DECIMAL(18, 2)) AS a
    FROM f WHERE fact = 'attributed'
    GROUP BY period, period_start, creator_id, platform, format, order_id
),
count_var AS (
    SELECT period, period_start, creator_id, platform, format, sum(a * a) AS attributed_var, count(*) AS n_orders
    FROM per_order
    GROUP BY period, period_start, creator_id, platform, format
),
shared AS (
    SELECT period, period_start, creator_id, sum(amount) AS shared
    FROM f WHERE fact = 'cost' AND platform = '(not post-specific)'
    GROUP BY period, period_start, creator_id
),
base_keys AS (
    SELECT period, period_start, creator_id, platform, format FROM reach
    UNION SELECT period, period_start, creator_id, platform, format FROM money
    UNION SELECT period, period_start, creator_id, platform, format FROM clicked
    UNION SELECT period, period_start, creator_id, platform, format FROM visits
),
keys AS (
    SELECT * FROM base_keys
    UNION ALL
    SELECT s.period, s.period_start, s.creator_id, '(not post-specific)', '(not post-specific)'
    FROM shared s
    WHERE NOT EXISTS (SELECT 1 FROM base_keys b WHERE b.period = s.period AND b.creator_id = s.creator_id)
),
-- Largest remainder in cents: each row's exact share is cents x posts /
-- all posts; rows take its floor, and the cents left go one each to the
-- largest remainders (ties by platform, then format).
alloc_base AS (
    SELECT k.period, k.period_start, k.creator_id, k.platform, k.format,
           coalesce(r.posts, 0) AS posts,
           CASE WHEN s.shared < 0 THEN -1 ELSE 1 END AS sign,
           CAST(abs(coalesce(s.shared, 0)) * 100 AS BIGINT) AS cents,
           coalesce(r.posts, 0) AS own_posts
    FROM keys k
    LEFT JOIN reach r ON r.period = k.period AND r.creator_id = k.creator_id
                     AND r.platform = k.platform AND r.format = k.format
    LEFT JOIN shared s ON s.period = k.period AND s.creator_id = k.creator_id
),
weighted AS (
    SELECT *,
           CASE WHEN sum(own_posts) OVER (PARTITION BY period, creator_id) > 0 THEN own_posts ELSE 1 END AS weight
    FROM alloc_base
),
alloc_floor AS (
    SELECT *,
           sum(weight) OVER (PARTITION BY period, creator_id) AS all_weight,
           CASE WHEN weight > 0 THEN cents * weight / sum(weight) OVER (PARTITION BY period, creator_id) ELSE 0 END AS base,
           CASE WHEN weight > 0 THEN cents * weight % sum(weight) OVER (PARTITION BY period, creator_id) ELSE -1 END AS rem
    FROM weighted
),
alloc AS (
    SELECT *,
           CASE WHEN weight > 0
                 AND row_number() OVER (PARTITION BY period, creator_id ORDER BY rem DESC, platform, format)
                     <= cents - sum(base) OVER (PARTITION BY period, creator_id)
                THEN base + 1 ELSE base END AS share_cents
    FROM alloc_floor
),
joined AS (
    SELECT a.period, a.period_start, a.creator_id, a.platform, a.format, a.posts,
           coalesce(r.views, 0) AS views,
           coalesce(c.clicks, 0) AS clicks,
           coalesce(v.incremental_visits, 0) AS incremental_visits,
           coalesce(m.attributed_orders, 0) AS attributed_orders,
           coalesce(m.incremental_orders, 0) AS incremental_orders,
           coalesce(m.attributed_revenue, CAST(0 AS DECIMAL(18, 2))) AS attributed_revenue,
           coalesce(m.incremental_revenue, CAST(0 AS DECIMAL(18, 2))) AS incremental_revenue,
           coalesce(m.attributed_cogs, CAST(0 AS DECIMAL(18, 2))) AS attributed_cogs,
           coalesce(m.post_costs, CAST(0 AS DECIMAL(18, 2))) AS post_costs,
           CAST(CAST(a.sign * a.share_cents AS DECIMAL(20, 0)) / 100 AS DECIMAL(18, 2)) AS shared_costs,
           coalesce(m.revenue_var, 0) AS revenue_var,
           CAST(coalesce(cv.attributed_var, 0) AS DOUBLE) AS attributed_var,
           CAST(sum(cv.attributed_var) OVER (PARTITION BY a.period) AS DOUBLE)
             / CAST(greatest(sum(cv.n_orders) OVER (PARTITION BY a.period), 1) AS DOUBLE) AS order_square
    FROM alloc a
    LEFT JOIN reach r ON r.period = a.period AND r.creator_id = a.creator_id AND r.platform = a.platform AND r.format = a.format
    LEFT JOIN clicked c ON c.period = a.period AND c.creator_id = a.creator_id AND c.platform = a.platform AND c.format = a.format
    LEFT JOIN visits v ON v.period = a.period AND v.creator_id = a.creator_id AND v.platform = a.platform AND v.format = a.format
    LEFT JOIN money m ON m.period = a.period AND m.creator_id = a.creator_id AND m.platform = a.platform AND m.format = a.format
    LEFT JOIN count_var cv ON cv.period = a.period AND cv.creator_id = a.creator_id AND cv.platform = a.platform AND cv.format = a.format
),
measured AS (
    SELECT *,
           CAST(attributed_revenue + incremental_revenue AS DECIMAL(18, 2)) AS combined_revenue,
           CAST(post_costs + shared_costs AS DECIMAL(18, 2)) AS total_cost,
           -- Incremental revenue's goods at the period's goods-to-revenue ratio.
           CAST(attributed_cogs + round_half_even(CAST(incremental_revenue AS DECIMAL(38, 10))
                * CAST(CASE WHEN sum(attributed_revenue) OVER (PARTITION BY period) > 0
                            THEN CAST(sum(attributed_cogs) OVER (PARTITION BY period) AS DOUBLE)
                                 / CAST(sum(attributed_revenue) OVER (PARTITION BY period) AS DOUBLE)
                            ELSE 0 END AS DECIMAL(38, 10)), 2) AS DECIMAL(18, 2)) AS cost_of_goods
    FROM joined
)
SELECT period, period_start, creator_id, platform, format,
       posts, views, clicks, incremental_visits,
       attributed_orders, incremental_orders, attributed_orders + incremental_orders AS orders,
       attributed_revenue, incremental_revenue, combined_revenue, cost_of_goods,
       post_costs, shared_costs, total_cost,
       CAST(combined_revenue - cost_of_goods - total_cost AS DECIMAL(18, 2)) AS contribution_margin,
       CASE WHEN total_cost > 0 THEN CAST(combined_revenue AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roas,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) - 1.959963984540054 * sqrt(revenue_var)) / CAST(total_cost AS DOUBLE) END AS roas_low,
       CASE WHEN total_cost > 0 THEN (CAST(combined_revenue AS DOUBLE) + 1.959963984540054 * sqrt(revenue_var)) / CAST(total_cost AS DOUBLE) END AS roas_high,
       CASE WHEN total_cost > 0 THEN sqrt(attributed_var + revenue_var + order_square) / CAST(total_cost AS DOUBLE) END AS roas_se,
       CASE WHEN total_cost > 0 THEN CAST(combined_revenue - cost_of_goods - total_cost AS DOUBLE) / CAST(total_cost AS DOUBLE) END AS roi
FROM measured
ORDER BY period, creator_id, platform, format
