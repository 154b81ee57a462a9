-- `placement_performance`: per SKU shown in a post of the run date's window,
-- the posts and views that showed it, its sales of the run date, and the
-- sales those views bring, measured against the SKU's own history
-- (docs/placement.md).
--
-- A post shows a SKU when content.detected_products holds it at
-- placement_confidence or more. Its exposure (views, in thousands; a post
-- without a view count adds none) counts for the local day it was published
-- and the placement_window_days - 1 days after. Over the placement_history_days
-- up to the run date, each SKU's daily units (and revenue) are fitted as
--   units(day) = baseline + units_per_1k_views * exposure(day)
--     + unseen_per_1k_views * unseen(day)
-- by least squares, so the SKU's own baseline is what it sells on a day with
-- no exposure, and the lift is what the exposure adds, clicked or not;
-- unseen(day) is the same for posts of campaigns promoting the SKU in which
-- it was not seen (below). The interval is the slope's 95 % interval
-- (normal, days taken as independent).
-- Sales are order lines at order time (refunds aside), revenue in the base
-- currency at each order day's rate; the fx_rates_history check has made
-- sure every rate exists.
WITH days AS (
    SELECT CAST(k AS BIGINT) AS day_index
    FROM (SELECT unnest(range(0, ${placement_history_days})) AS k)
),
-- Every post published in the history (with the window before its first
-- day), once: its local publication day as days before the run date.
posts AS (
    SELECT content_id, creator_id, campaign_id, coalesce(views, 0) AS views,
           detected_products,
           CAST(${date} AS INT)
             - CAST(CAST(to_local_time(arrow_cast(published_at, ${local_ts_type})) AS DATE) AS INT)
             AS pub_index
    FROM content
    WHERE published_at < ${day_end}
      AND published_at >= ${placement_history_days_start}
                           - INTERVAL '${placement_window_days} days' - INTERVAL '1 day'
),
posts_w AS (
    SELECT * FROM posts
    WHERE pub_index >= 0
      AND pub_index <= ${placement_history_days} + ${placement_window_days} - 2
),
shown_w AS (
    SELECT DISTINCT content_id, creator_id, upper(trim(p.sku)) AS sku, views, pub_index
    FROM (SELECT content_id, creator_id, views, pub_index, unnest(detected_products) AS p
          FROM posts_w)
    WHERE p.confidence >= ${placement_confidence} AND p.sku IS NOT NULL
),
skus AS (
    SELECT DISTINCT sku FROM shown_w WHERE pub_index < ${placement_window_days}
),
-- Posts of a campaign that promotes the SKU in which it was not seen at
-- placement_confidence (not analysed, missed, unsure): they may show it at
-- the same time as the posts that do, so their views are a second exposure,
-- fitted apart, lest the seen posts take their sales.
unseen_w AS (
    SELECT DISTINCT u.content_id, u.sku, u.views, u.pub_index
    FROM (SELECT t.content_id, upper(trim(t.sku)) AS sku, t.views, t.pub_index
          FROM (SELECT w.content_id, w.views, w.pub_index, unnest(k.skus) AS sku
                FROM posts_w w
                JOIN campaigns k ON k.campaign_id = w.campaign_id) t) u
    WHERE NOT EXISTS (SELECT 1 FROM shown_w s WHERE s.content_id = u.content_id AND s.sku = u.sku)
),
-- Each day's exposure: seen (x) and unseen (z) views, in thousands, of the
-- posts published that day or in the placement_window_days - 1 days before.
exposure AS (
    SELECT e.sku, d.day_index,
           sum(CASE WHEN e.seen THEN CAST(e.views AS DOUBLE) ELSE 0.0 END) / 1000.0 AS x,
           sum(CASE WHEN e.seen THEN 0.0 ELSE CAST(e.views AS DOUBLE) END) / 1000.0 AS z
    FROM (SELECT sku, views, pub_index, true AS seen FROM shown_w
          UNION ALL
          SELECT sku, views, pub_index, false AS seen FROM unseen_w) e
    JOIN days d
      ON e.pub_index >= d.day_index
     AND e.pub_index < d.day_index + ${placement_window_days}
    GROUP BY 1, 2
),
lines AS (
    SELECT upper(trim(l.sku)) AS sku, o.order_id, l.quantity,
           l.net_amount * CASE WHEN o.currency = ${base_currency} THEN CAST(1 AS DECIMAL(18, 8))
                               ELSE r.rate_to_base END AS value,
           CAST(${date} AS INT) - CAST(o.order_date AS INT) AS day_index
    FROM (SELECT order_id, currency,
                 CAST(to_local_time(arrow_cast(ordered_at, ${local_ts_type})) AS DATE) AS order_date
          FROM orders
          WHERE ordered_at >= ${placement_history_days_start} AND ordered_at < ${day_end}) o
    JOIN order_lines l ON l.order_id = o.order_id
    LEFT JOIN fx_rates r
      ON r.currency = o.currency AND r."date" = o.order_date AND o.currency <> ${base_currency}
    WHERE upper(trim(l.sku)) IN (SELECT sku FROM skus)
),
sales AS (
    SELECT sku, day_index, count(DISTINCT order_id) AS orders,
           sum(CAST(quantity AS BIGINT)) AS units, sum(value) AS revenue
    FROM lines
    GROUP BY 1, 2
),
grid AS (
    SELECT k.sku, d.day_index, coalesce(e.x, 0.0) AS x, coalesce(e.z, 0.0) AS z,
           coalesce(s.orders, 0) AS orders, coalesce(s.units, 0) AS units,
           coalesce(s.revenue, CAST(0 AS DECIMAL(18, 2))) AS revenue
    FROM skus k
    CROSS JOIN days d
    LEFT JOIN exposure e ON e.sku = k.sku AND e.day_index = d.day_index
    LEFT JOIN sales s ON s.sku = k.sku AND s.day_index = d.day_index
),
-- Least squares of sales (y: units, then revenue) on both exposures, from
-- centred sums: with S the centred cross-products, the slope of the seen
-- exposure is (Szz Sxy - Sxz Szy) / D, D = Sxx Szz - Sxz^2, its variance
-- sigma^2 Szz / D, sigma^2 = RSS / (n - 3). Without unseen exposure (Szz = 0)
-- or with one the seen exposure explains entirely (D ~ 0: the two cannot be
-- told apart), it is the one-regressor fit: Sxy / Sxx, sigma^2 / Sxx, n - 2.
sums AS (
    SELECT sku,
           CAST(count(*) AS DOUBLE) AS n,
           sum(x) AS sum_x,
           sum(units) AS history_units,
           avg(x) AS mx, avg(z) AS mz,
           avg(CAST(units AS DOUBLE)) AS mu, avg(CAST(revenue AS DOUBLE)) AS mr,
           coalesce(regr_sxx(x, x), 0.0) AS sxx,
           coalesce(regr_sxx(z, z), 0.0) AS szz,
           coalesce(covar_pop(x, z) * count(*), 0.0) AS sxz,
           coalesce(covar_pop(x, CAST(units AS DOUBLE)) * count(*), 0.0) AS sxu,
           coalesce(covar_pop(z, CAST(units AS DOUBLE)) * count(*), 0.0) AS szu,
           coalesce(var_pop(CAST(units AS DOUBLE)) * count(*), 0.0) AS suu,
           coalesce(covar_pop(x, CAST(revenue AS DOUBLE)) * count(*), 0.0) AS sxr,
           coalesce(covar_pop(z, CAST(revenue AS DOUBLE)) * count(*), 0.0) AS szr,
           coalesce(var_pop(CAST(revenue AS DOUBLE)) * count(*), 0.0) AS srr
    FROM grid
    GROUP BY sku
),
design AS (
    SELECT s.*,
           sxx * szz - sxz * sxz AS d,
           szz > 0 AND sxx * szz - sxz * sxz > 1e-9 * sxx * szz AS two
    FROM sums s
),
slopes AS (
    SELECT d.*,
           CASE WHEN two THEN (szz * sxu - sxz * szu) / d WHEN sxx > 0 THEN sxu / sxx END AS b_u,
           CASE WHEN two THEN (sxx * szu - sxz * sxu) / d ELSE 0.0 END AS c_u,
           CASE WHEN two THEN (szz * sxr - sxz * szr) / d WHEN sxx > 0 THEN sxr / sxx END AS b_r,
           CASE WHEN two THEN (sxx * szr - sxz * sxr) / d ELSE 0.0 END AS c_r,
           CASE WHEN two THEN n - 3 ELSE n - 2 END AS dof,
           CASE WHEN two THEN szz / d WHEN sxx > 0 THEN 1.0 / sxx END AS v
    FROM design d
),
err AS (
    SELECT s.*,
           mu - b_u * mx - c_u * mz AS a_u,
           mr - b_r * mx - c_r * mz AS a_r,
           CASE WHEN v IS NOT NULL AND dof > 0
                THEN sqrt(greatest(suu - b_u * sxu - c_u * szu, 0.0) / dof * v) END AS se_u,
           CASE WHEN v IS NOT NULL AND dof > 0
                THEN sqrt(greatest(srr - b_r * sxr - c_r * szr, 0.0) / dof * v) END AS se_r
    FROM slopes s
),
today AS (
    SELECT sku, count(*) AS posts, sum(views) AS views
    FROM shown_w WHERE pub_index = 0 GROUP BY sku
),
win AS (
    SELECT sku, count(*) AS window_posts, sum(views) AS window_views,
           count(DISTINCT creator_id) AS window_creators
    FROM shown_w WHERE pub_index < ${placement_window_days} GROUP BY sku
)
SELECT g.sku,
       coalesce(t.posts, 0) AS posts,
       coalesce(t.views, 0) AS views,
       w.window_posts, w.window_views, w.window_creators,
       g.orders, g.units,
       CAST(round_half_even(g.revenue, 2) AS DECIMAL(18, 2)) AS revenue,
       g.x AS exposure_k_views,
       e.a_u AS baseline_units,
       e.b_u AS units_per_1k_views,
       g.z AS unseen_k_views,
       e.c_u AS unseen_units_per_1k_views,
       e.b_u * g.x AS lift_units,
       (e.b_u - 1.959963984540054 * e.se_u) * g.x AS lift_units_low,
       (e.b_u + 1.959963984540054 * e.se_u) * g.x AS lift_units_high,
       CAST(round_half_even(CAST(e.a_r AS DECIMAL(24, 6)), 2) AS DECIMAL(18, 2)) AS baseline_revenue,
       CAST(round_half_even(CAST(e.b_r * g.x AS DECIMAL(24, 6)), 2) AS DECIMAL(18, 2)) AS lift_revenue,
       CAST(round_half_even(CAST((e.b_r - 1.959963984540054 * e.se_r) * g.x AS DECIMAL(24, 6)), 2) AS DECIMAL(18, 2)) AS lift_revenue_low,
       CAST(round_half_even(CAST((e.b_r + 1.959963984540054 * e.se_r) * g.x AS DECIMAL(24, 6)), 2) AS DECIMAL(18, 2)) AS lift_revenue_high,
       CAST(e.n AS BIGINT) AS history_days,
       e.history_units,
       e.b_u * e.sum_x AS history_lift_units,
       (e.b_u - 1.959963984540054 * e.se_u) * e.sum_x AS history_lift_units_low,
       (e.b_u + 1.959963984540054 * e.se_u) * e.sum_x AS history_lift_units_high
FROM grid g
JOIN err e ON e.sku = g.sku
JOIN win w ON w.sku = g.sku
LEFT JOIN today t ON t.sku = g.sku
WHERE g.day_index = 0
ORDER BY g.sku
