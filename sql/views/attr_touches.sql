-- Every attribution touch up to the end of the run date, from the earliest
-- instant any journey of the window can reach back to (the window's start
-- minus the lookback). One row per touch with the person it belongs to.
--
-- Identity: a person is their customer_id when the touch or attr_identity
-- gives one, else their anonymous_id; so one customer's devices form one
-- journey.
-- Touch kinds:
--   click    a tracked-link click; it takes the identity of the session it
--            opened (the redirect may not carry one itself)
--   session  a visit not opened by a tracked click, with its channel
--   exposure a known view of a post by the visitor
--   code     a creator's promo code on an order (see attr_events: it is a
--            touch of that order only, at the order's time)
-- Only data up to the end of the run date is read, so a backfill of a past
-- date sees what the nightly run of that date saw.
WITH opened AS (
    SELECT click_id,
           first_value(anonymous_id ORDER BY started_at, session_id) AS anonymous_id,
           first_value(customer_id ORDER BY started_at, session_id) AS customer_id
    FROM sessions
    WHERE click_id IS NOT NULL AND started_at < ${day_end}
    GROUP BY click_id
),
raw_touches AS (
    SELECT c.click_id AS event_id,
           coalesce(o.anonymous_id, c.anonymous_id) AS anonymous_id,
           o.customer_id,
           c.clicked_at AS touch_at,
           'click' AS touch_kind,
           'creator:' || l.creator_id AS channel,
           l.creator_id,
           l.content_id,
           ct.platform,
           ct.format
    FROM clicks c
    JOIN links l ON c.link_id = l.link_id
    LEFT JOIN content ct ON l.content_id = ct.content_id
    LEFT JOIN opened o ON c.click_id = o.click_id
    WHERE c.clicked_at >= ${lookback_start} - ${lookback_interval}
      AND c.clicked_at < ${day_end}
    UNION ALL
    SELECT s.session_id AS event_id,
           s.anonymous_id,
           s.customer_id,
           s.started_at AS touch_at,
           'session' AS touch_kind,
           s.channel,
           CAST(NULL AS VARCHAR) AS creator_id,
           CAST(NULL AS VARCHAR) AS content_id,
           CAST(NULL AS VARCHAR) AS platform,
           CAST(NULL AS VARCHAR) AS format
    FROM sessions s
    WHERE s.started_at >= ${lookback_start} - ${lookback_interval}
      AND s.started_at < ${day_end}
      AND (s.click_id IS NULL OR s.click_id NOT IN (SELECT click_id FROM clicks))
    UNION ALL
    SELECT e.exposure_id AS event_id,
           e.anonymous_id,
           CAST(NULL AS VARCHAR) AS customer_id,
           e.exposed_at AS touch_at,
           'exposure' AS touch_kind,
           'creator:' || ct.creator_id AS channel,
           ct.creator_id,
           ct.content_id,
           ct.platform,
           ct.format
    FROM exposures e
    JOIN content ct ON e.content_id = ct.content_id
    WHERE e.exposed_at >= ${lookback_start} - ${lookback_interval}
      AND e.exposed_at < ${day_end}
)
SELECT CASE
         WHEN coalesce(t.customer_id, i.customer_id) IS NOT NULL
           THEN 'c:' || coalesce(t.customer_id, i.customer_id)
         ELSE 'a:' || t.anonymous_id
       END AS person_id,
       t.event_id, t.touch_at, t.touch_kind, t.channel,
       t.creator_id, t.content_id, t.platform, t.format
FROM raw_touches t
LEFT JOIN attr_identity i ON t.anonymous_id = i.anonymous_id
WHERE t.anonymous_id IS NOT NULL OR t.customer_id IS NOT NULL
