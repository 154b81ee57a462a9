-- Orders a dark-social visit may have led to: for every order of the
-- attribution window, the last session of its journey that carries no
-- tracked click or UTM tag and counts for the direct or branded-search
-- signal (the channels of lift_signal_channels; direct first when a channel
-- is eligible for both), within lift_order_lookback_days before the order.
-- The lift credits the order to posts through that one visit's
-- probabilities, which sum to at most 1 over posts, so no order is counted
-- twice.
--
-- Orders whose journey holds a tracked creator touch (a click, a creator
-- code or a known exposure) are left out: attribution credits them to a
-- creator already, and dark-social credit on top would count them twice.
-- Journeys come from attr_journey_touches (identity stitched through
-- customer_id, reset after each order); values from attr_order_values (base
-- currency at the order date's rate).
WITH j AS (
    SELECT order_id, ordered_at, touch_seq, touch_at, touch_kind, event_id
    FROM attr_journey_touches
    WHERE order_id IS NOT NULL AND touch_seq IS NOT NULL
),
tracked AS (
    SELECT DISTINCT order_id FROM j WHERE touch_kind IN ('click', 'code', 'exposure')
),
eligible AS (
    SELECT j.order_id, j.touch_at AS visit_at, j.touch_seq, s.channel,
           coalesce(regexp_like(lower(s.search_query), ${brand_terms_pattern}), false) AS is_branded
    FROM j
    JOIN sessions s ON s.session_id = j.event_id
    WHERE j.touch_kind = 'session'
      AND s.click_id IS NULL
      AND s.utm_source IS NULL AND s.utm_medium IS NULL AND s.utm_campaign IS NULL
      AND j.touch_at > j.ordered_at - INTERVAL '${lift_order_lookback_days} days'
),
visits AS (
    SELECT order_id, visit_at, touch_seq,
           CASE WHEN concat('direct:', channel) IN (${lift_signal_channels}) THEN 'direct'
                WHEN concat('branded_search:', channel) IN (${lift_signal_channels}) AND is_branded
                     THEN 'branded_search' END AS signal
    FROM eligible
    WHERE channel NOT IN ('organic_search', 'paid_search') OR is_branded
),
last_visit AS (
    SELECT order_id, visit_at, signal,
           row_number() OVER (PARTITION BY order_id ORDER BY touch_seq DESC) AS rn
    FROM visits
    WHERE signal IS NOT NULL
)
SELECT l.order_id, l.visit_at, l.signal, v.value
FROM last_visit l
JOIN attr_order_values v ON v.order_id = l.order_id
WHERE l.rn = 1
  AND l.order_id NOT IN (SELECT order_id FROM tracked)
