-- Input of the creator_momentum transform: per creator and local day of the
-- window ending on the run date, tracked clicks and code orders; day_index 0
-- is the run date. Days without activity are absent (the transform counts
-- them as zero).
WITH click_days AS (
    SELECT l.creator_id,
           CAST(${date} AS INT)
             - CAST(CAST(to_local_time(arrow_cast(c.clicked_at, ${local_ts_type})) AS DATE) AS INT) AS day_index,
           count(*) AS clicks
    FROM clicks c JOIN links l ON c.link_id = l.link_id
    WHERE c.clicked_at >= ${momentum_window_days_start} AND c.clicked_at < ${day_end}
    GROUP BY 1, 2
),
order_days AS (
    SELECT creator_id,
           CAST(${date} AS INT) - CAST(local_date AS INT) AS day_index,
           count(*) AS code_orders
    FROM creator_code_orders
    WHERE ordered_at >= ${momentum_window_days_start} AND ordered_at < ${day_end}
    GROUP BY 1, 2
)
SELECT coalesce(c.creator_id, o.creator_id) AS creator_id,
       coalesce(c.day_index, o.day_index) AS day_index,
       coalesce(c.clicks, 0) AS clicks,
       coalesce(o.code_orders, 0) AS code_orders
FROM click_days c
FULL OUTER JOIN order_days o ON c.creator_id = o.creator_id AND c.day_index = o.day_index
