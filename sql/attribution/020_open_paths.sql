-- Input 2 of the attribution built-in: the channel paths of the open
-- (non-converting) journeys of the window, with how many journeys took each.
SELECT path, count(*) AS journeys
FROM (
    SELECT person_id, journey_no,
           array_agg(channel ORDER BY touch_seq) AS path
    FROM attr_journey_touches
    WHERE order_id IS NULL
    GROUP BY person_id, journey_no
)
GROUP BY path
