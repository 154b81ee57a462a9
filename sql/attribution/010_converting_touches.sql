-- Input 1 of the attribution built-in: one row per touch of every journey
-- that converted in the window, with the order's value in the base
-- currency. An order without touches has one row with touch_seq NULL.
SELECT v.order_id, v.ordered_at, v.order_date, v.value,
       t.touch_seq, t.touch_at, t.event_id AS touch_id, t.touch_kind, t.channel,
       t.creator_id, t.content_id, t.platform, t.format
FROM attr_order_values v
JOIN attr_journey_touches t ON t.order_id = v.order_id
