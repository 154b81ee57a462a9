-- Per creator and day: posts published, tracked clicks on their links, code
-- redemptions, and orders that used their code (an order counts once per
-- creator) with that revenue in the base currency. Creators with no activity
-- that day have no row.
WITH posts AS (
    SELECT creator_id, count(*) AS posts
    FROM content
    WHERE published_at >= ${day_start} AND published_at < ${day_end}
    GROUP BY creator_id
),
clicks_by_creator AS (
    SELECT l.creator_id, count(*) AS clicks
    FROM clicks c JOIN links l ON c.link_id = l.link_id
    WHERE c.clicked_at >= ${day_start} AND c.clicked_at < ${day_end}
    GROUP BY l.creator_id
),
code_orders AS (
    SELECT cco.creator_id,
           sum(cco.redemptions) AS code_redemptions,
           count(*) AS code_orders,
           sum(CASE WHEN cco.is_new_customer THEN 1 ELSE 0 END) AS code_new_customers,
           round_half_even(sum(cco.revenue * rates.rate_to_base), 2) AS code_revenue_base
    FROM creator_code_orders cco
    LEFT JOIN day_rates rates ON rates.currency = cco.currency
    WHERE cco.ordered_at >= ${day_start} AND cco.ordered_at < ${day_end}
    GROUP BY cco.creator_id
),
active AS (
    SELECT creator_id FROM posts
    UNION SELECT creator_id FROM clicks_by_creator
    UNION SELECT creator_id FROM code_orders
)
SELECT a.creator_id,
       coalesce(p.posts, 0) AS posts,
       coalesce(k.clicks, 0) AS clicks,
       coalesce(co.code_redemptions, 0) AS code_redemptions,
       coalesce(co.code_orders, 0) AS code_orders,
       coalesce(co.code_new_customers, 0) AS code_new_customers,
       CAST(coalesce(co.code_revenue_base, 0) AS DECIMAL(18, 2)) AS code_revenue_base
FROM active a
LEFT JOIN posts p ON p.creator_id = a.creator_id
LEFT JOIN clicks_by_creator k ON k.creator_id = a.creator_id
LEFT JOIN code_orders co ON co.creator_id = a.creator_id
ORDER BY a.creator_id
