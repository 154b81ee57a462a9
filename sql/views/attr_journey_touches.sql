-- The touches of every journey the attribution of the run date uses, one row
-- per touch, numbered within its journey (touch_seq 1 = earliest), with the
-- journey's end (ended_at: its order time, or its last touch when open).
--
-- Journeys: a person's events are ordered by (time, then a tie-break that
-- puts an order's own code touch just before it, then event id, then kind);
-- a journey ends at each order and the next one starts after it, so a touch
-- counts for one order only. A touch belongs to an order when it lies in the
-- half-open lookback (ordered_at - lookback, ordered_at]. Only the last
-- ${attribution_max_touches} touches are kept (0 = all).
--
-- Which journeys: converting ones whose order lies in the window
-- [lookback_start, day_end), and the open (non-converting) journey of every
-- person whose last touch lies in the window and who has not ordered since;
-- an open journey looks back from its last touch. Orders in the window
-- without any touch appear with touch_seq NULL, so totals reconcile.
WITH orders_w AS (
    SELECT o.order_id,
           o.ordered_at,
           CASE
             WHEN coalesce(o.customer_id, i.customer_id) IS NOT NULL
               THEN 'c:' || coalesce(o.customer_id, i.customer_id)
             WHEN o.anonymous_id IS NOT NULL THEN 'a:' || o.anonymous_id
             ELSE 'o:' || o.order_id
           END AS person_id
    FROM orders o
    LEFT JOIN attr_identity i ON o.anonymous_id = i.anonymous_id
    WHERE o.ordered_at >= ${lookback_start} - ${lookback_interval}
      AND o.ordered_at < ${day_end}
),
events AS (
    -- ordinary touches: k1 = 0 sorts them before an order at the same instant
    SELECT t.person_id, t.touch_at AS at, 0 AS k1, t.event_id AS k2, 0 AS k3,
           0 AS is_order, CAST(NULL AS VARCHAR) AS order_id,
           t.event_id, t.touch_kind, t.channel, t.creator_id, t.content_id,
           t.platform, t.format
    FROM attr_touches t
    UNION ALL
    -- a code touch sorts right before its own order (same k1, k2; k3 = 0)
    SELECT w.person_id, c.ordered_at AS at, 1 AS k1, c.order_id AS k2, 0 AS k3,
           0 AS is_order, CAST(NULL AS VARCHAR) AS order_id,
           c.order_id || '/' || c.creator_id AS event_id, 'code' AS touch_kind,
           'creator:' || c.creator_id AS channel, c.creator_id,
           CAST(NULL AS VARCHAR) AS content_id, CAST(NULL AS VARCHAR) AS platform,
           CAST(NULL AS VARCHAR) AS format
    FROM creator_code_orders c
    JOIN orders_w w ON c.order_id = w.order_id
    UNION ALL
    SELECT w.person_id, w.ordered_at AS at, 1 AS k1, w.order_id AS k2, 1 AS k3,
           1 AS is_order, w.order_id,
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR)
    FROM orders_w w
),
numbered AS (
    SELECT *,
           coalesce(sum(is_order) OVER (
               PARTITION BY person_id ORDER BY at, k1, k2, k3, touch_kind
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS journey_no
    FROM events
),
enriched AS (
    -- each row learns its journey's end and its rank among the journey's
    -- touches from the end, from one running window in reverse event order
    -- (the order, when there is one, is the journey's last event). Running
    -- windows stream over sorted input; whole-partition windows would hold
    -- the entire input in memory.
    SELECT *,
           first_value(order_id) OVER w_desc AS j_order_id,
           first_value(CASE WHEN is_order = 1 THEN at END) OVER w_desc AS j_ordered_at,
           first_value(at) OVER w_desc AS j_last_at,
           sum(1 - is_order) OVER w_desc AS from_end
    FROM numbered
    WINDOW w_desc AS (
        PARTITION BY person_id, journey_no
        ORDER BY at DESC, k1 DESC, k2 DESC, k3 DESC, touch_kind DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
flagged AS (
    -- kept: in the lookback, and among the last attribution_max_touches
    -- (the lookback drops only a journey's oldest touches, so the rank from
    -- the end is the rank among kept touches)
    SELECT *,
           is_order = 0
           AND (${attribution_max_touches} <= 0 OR from_end <= ${attribution_max_touches})
           AND (
             (j_order_id IS NOT NULL
                AND j_ordered_at >= ${lookback_start}
                AND at > j_ordered_at - ${lookback_interval})
             OR (j_order_id IS NULL
                AND j_last_at >= ${lookback_start}
                AND at > j_last_at - ${lookback_interval})
           ) AS keep
    FROM enriched
),
sequenced AS (
    -- kept touches numbered from 1 in event order; on the order row (the
    -- journey's last event) the running count is the journey's kept touches
    SELECT *,
           sum(CASE WHEN keep THEN 1 ELSE 0 END) OVER (
               PARTITION BY person_id, journey_no
               ORDER BY at, k1, k2, k3, touch_kind
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS kept_so_far
    FROM flagged
)
-- The kept touches, and the orders of the window that kept no touch, as one
-- row with touch_seq NULL.
SELECT person_id, journey_no, j_order_id AS order_id, j_ordered_at AS ordered_at,
       CASE WHEN j_order_id IS NOT NULL THEN j_ordered_at ELSE j_last_at END AS ended_at,
       CASE WHEN keep THEN CAST(kept_so_far AS INT) END AS touch_seq,
       CASE WHEN keep THEN at END AS touch_at,
       event_id, touch_kind, channel, creator_id, content_id, platform, format
FROM sequenced
WHERE keep
   OR (is_order = 1 AND kept_so_far = 0 AND at >= ${lookback_start})
