-- `journeys`: the journeys that ended on the run date, one row each, with
-- their ordered touches: every order of the day (converted; an order without
-- touches has n_touches 0 and NULL lists), and every open journey whose
-- last touch fell on the day and that had not converted by the day's end.
-- The touches are parallel lists in touch order (element i of every list is
-- touch i); unnest them together to get one row per touch.
-- Over the lookback's partitions these are the journeys the models used.
WITH j AS (
    SELECT person_id, journey_no, order_id,
           max(ended_at) AS ended_at,
           count(touch_seq) AS n_touches,
           array_agg(channel ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS channels,
           array_agg(touch_kind ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS touch_kinds,
           array_agg(touch_at ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS touch_times,
           array_agg(event_id ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS touch_ids,
           array_agg(creator_id ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS creator_ids,
           array_agg(content_id ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS content_ids,
           array_agg(platform ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS platforms,
           array_agg(format ORDER BY touch_seq) FILTER (WHERE touch_seq IS NOT NULL) AS formats
    FROM attr_journey_touches
    WHERE ended_at >= ${day_start} AND ended_at < ${day_end}
    GROUP BY person_id, journey_no, order_id
)
SELECT coalesce(j.order_id, j.person_id || '#' || CAST(j.journey_no AS VARCHAR)) AS journey_id,
       j.person_id,
       j.order_id IS NOT NULL AS converted,
       j.order_id,
       v.ordered_at,
       v.value,
       j.ended_at,
       CAST(j.n_touches AS INT) AS n_touches,
       array_to_string(j.channels, ' > ') AS path,
       j.channels, j.touch_kinds, j.touch_times, j.touch_ids,
       j.creator_ids, j.content_ids, j.platforms, j.formats
FROM j
LEFT JOIN attr_order_values v ON j.order_id = v.order_id
ORDER BY journey_id
