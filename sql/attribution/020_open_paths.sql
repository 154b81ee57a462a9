-- Input 2 of the attribution built-in: the touches of the open
-- (non-converting) journeys of the window, in journey and touch order. The
-- built-in folds them into paths with counts in one streaming pass (an
-- ordered array_agg over millions of journeys is far slower and its memory is
-- not bounded by the pool).
SELECT person_id, journey_no, touch_seq, channel
FROM attr_journey_touches
WHERE order_id IS NULL
ORDER BY person_id, journey_no, touch_seq
