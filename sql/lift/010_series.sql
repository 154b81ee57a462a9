-- Per minute, signal and country, from the first day the lift looks back to
-- (lift_history_days) to the end of the run date. Only traffic that no
-- tracked source explains counts (dark social): a session with a tracked
-- click or any UTM tag is left out, and a session counts for a signal only
-- when its channel is one of the signal's eligible channels
-- (lift_signal_channels; by default direct for direct, organic search for
-- branded_search, both for product_page). A search session counts only when
-- its query holds a brand term.
--   direct          eligible sessions
--   branded_search  eligible sessions whose query holds a brand term
--   product_page    eligible sessions landing on a product page
--   orders          orders not placed in a click-opened session
--   control         sessions without a click that count for no signal
--                   above and are neither affiliate, social nor a branded
--                   search (a post drives branded paid search too): traffic no
--                   post drives, whose surges show site-wide ones (the
--                   lift's baseline follows them where the signals do)
-- Country "ALL" is every country together (the series lift is measured on);
-- a missing country is "unknown". A site that exports only aggregates gives
-- traffic_minutely instead: a signal it holds replaces the one computed
-- from sessions (its rows with a null country are the totals; without them
-- the total is the sum of the countries).
--
-- Sessions and orders are each read once: a session is expanded into the
-- signals it belongs to (unnest, then filter), and one grouping-sets
-- aggregate gives the per-country and the total counts.
WITH flagged AS (
    SELECT date_trunc('minute', started_at) AS minute,
           coalesce(country, 'unknown') AS place,
           channel,
           coalesce(landing_page_type = 'product', false) AS is_product,
           -- untracked, and a search only with a brand term
           click_id IS NULL
             AND utm_source IS NULL AND utm_medium IS NULL AND utm_campaign IS NULL
             AND (channel NOT IN ('organic_search', 'paid_search')
                  OR coalesce(regexp_like(lower(search_query), ${brand_terms_pattern}), false)) AS dark,
           coalesce(regexp_like(lower(search_query), ${brand_terms_pattern}), false) AS is_branded
    FROM sessions
    WHERE click_id IS NULL
      AND started_at >= ${lift_history_days_start} AND started_at < ${day_end}
),
counted AS (
    SELECT minute, place, channel, is_product, is_branded,
           dark AND concat('direct:', channel) IN (${lift_signal_channels}) AS in_direct,
           dark AND is_branded AND concat('branded_search:', channel) IN (${lift_signal_channels}) AS in_branded,
           dark AND is_product AND concat('product_page:', channel) IN (${lift_signal_channels}) AS in_product
    FROM flagged
),
events AS (
    SELECT minute, place AS country, signal
    FROM (
        SELECT minute, place, in_direct, in_branded, in_product,
               -- control: traffic no post drives (tracked or unbranded; not
               -- affiliate, social or any branded search, paid ones
               -- included), whose surges tell site-wide ones
               NOT (in_direct OR in_branded OR in_product OR is_branded)
                 AND channel NOT IN ('affiliate', 'organic_social') AS in_control,
               unnest(make_array('direct', 'branded_search', 'product_page', 'control')) AS signal
        FROM counted
    )
    WHERE (signal = 'direct' AND in_direct)
       OR (signal = 'branded_search' AND in_branded)
       OR (signal = 'product_page' AND in_product)
       OR (signal = 'control' AND in_control)
    UNION ALL
    SELECT date_trunc('minute', o.ordered_at) AS minute,
           coalesce(o.country, 'unknown') AS country, 'orders' AS signal
    FROM orders o
    WHERE o.ordered_at >= ${lift_history_days_start} AND o.ordered_at < ${day_end}
      AND (o.session_id IS NULL
           OR o.session_id NOT IN (SELECT session_id FROM sessions WHERE click_id IS NOT NULL))
),
from_sessions AS (
    SELECT minute, signal,
           CASE WHEN grouping(country) = 1 THEN 'ALL' ELSE country END AS country,
           count(*) AS visits
    FROM events
    GROUP BY GROUPING SETS ((minute, signal, country), (minute, signal))
),
tm AS (
    SELECT minute, signal, country, value
    FROM traffic_minutely
    WHERE minute >= ${lift_history_days_start} AND minute < ${day_end}
),
from_traffic AS (
    SELECT minute, signal, country, sum(value) AS visits
    FROM tm WHERE country IS NOT NULL GROUP BY minute, signal, country
    UNION ALL
    SELECT minute, signal, 'ALL' AS country,
           CASE WHEN count(CASE WHEN country IS NULL THEN 1 END) > 0
                THEN sum(CASE WHEN country IS NULL THEN value END)
                ELSE sum(value) END AS visits
    FROM tm GROUP BY minute, signal
)
SELECT minute, signal, country, CAST(visits AS BIGINT) AS visits FROM from_traffic
UNION ALL
SELECT minute, signal, country, CAST(visits AS BIGINT) AS visits FROM from_sessions
WHERE signal NOT IN (SELECT DISTINCT signal FROM tm)
