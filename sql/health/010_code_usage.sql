-- `code_usage`: how each creator code was redeemed on the run date (orders
-- placed that local day), with the evidence that tells the creator's own
-- audience from a leak (docs/health.md):
--   touched        the buyer's journey (the lookback before the order) holds
--                  a click on the creator's link, an exposure to their post,
--                  or an untracked visit (direct, organic search or social)
--                  inside the immediate lift window of one of their posts;
--   coupon         a session of the buyer in the 24 hours before the order
--                  (or the order's own session) came from a domain of
--                  code_coupon_domains, or a subdomain of one;
--   outside        the order's country is not one of the creator's audience
--                  countries holding at least code_audience_min_share (only
--                  orders with a country, of creators with audience data);
--   no_recent_post no post of the creator in the code_post_window_days
--                  before the order.
-- A code matches trimmed and case-insensitively, whether or not it was valid
-- at the time (a redemption outside the validity is still a redemption); an
-- order that typed a code twice counts once. Amounts are in the base
-- currency at the day's rate, rounded half-even once; commission is what the
-- run's payout_lines pay for the pair (after refunds), in the base currency.
WITH day_orders AS (
    SELECT o.order_id, o.ordered_at, o.revenue, o.currency, o.is_new_customer,
           upper(o.country) AS country, o.session_id, o.discount_codes,
           CASE
             WHEN coalesce(o.customer_id, i.customer_id) IS NOT NULL
               THEN 'c:' || coalesce(o.customer_id, i.customer_id)
             WHEN o.anonymous_id IS NOT NULL THEN 'a:' || o.anonymous_id
           END AS person_id
    FROM orders o
    LEFT JOIN attr_identity i ON o.anonymous_id = i.anonymous_id
    WHERE o.ordered_at >= ${day_start} AND o.ordered_at < ${day_end}
),
known_codes AS (
    SELECT upper(trim(code)) AS code, min(creator_id) AS creator_id
    FROM codes
    GROUP BY upper(trim(code))
),
redemptions AS (
    SELECT DISTINCT d.order_id, k.code, k.creator_id
    FROM (SELECT order_id, upper(trim(c)) AS code
          FROM (SELECT order_id, unnest(discount_codes) AS c FROM day_orders)) d
    JOIN known_codes k ON k.code = d.code
),
r AS (
    SELECT x.code, x.creator_id, o.*
    FROM redemptions x
    JOIN day_orders o ON o.order_id = x.order_id
),
person_touches AS (
    SELECT r.order_id, r.creator_id, t.touch_kind, t.channel, t.touch_at,
           t.event_id, t.creator_id AS touch_creator
    FROM r
    JOIN attr_touches t
      ON t.person_id = r.person_id
     AND t.touch_at <= r.ordered_at
     AND t.touch_at > r.ordered_at - ${lookback_interval}
),
touched AS (
    SELECT DISTINCT order_id, creator_id
    FROM person_touches
    WHERE touch_kind IN ('click', 'exposure') AND touch_creator = creator_id
    UNION
    SELECT DISTINCT pt.order_id, pt.creator_id
    FROM person_touches pt
    JOIN content p
      ON p.creator_id = pt.creator_id
     AND pt.touch_at >= p.published_at
     AND pt.touch_at < p.published_at + INTERVAL '${lift_immediate_minutes} minutes'
    WHERE pt.touch_kind = 'session'
      AND pt.channel IN ('direct', 'organic_search', 'organic_social')
),
coupon_domains AS (
    SELECT lower(d) AS domain FROM (SELECT unnest(make_array(${code_coupon_domains})) AS d)
),
buyer_sessions AS (
    SELECT order_id, event_id AS session_id
    FROM person_touches
    WHERE touch_kind = 'session'
    UNION
    SELECT order_id, session_id FROM r WHERE session_id IS NOT NULL
),
coupon AS (
    SELECT DISTINCT b.order_id
    FROM buyer_sessions b
    JOIN r ON r.order_id = b.order_id
    JOIN sessions s ON s.session_id = b.session_id
    JOIN coupon_domains c
      ON regexp_replace(lower(s.referrer_domain), '^www\.', '') = c.domain
      OR ends_with(lower(s.referrer_domain), '.' || c.domain)
    WHERE s.started_at <= r.ordered_at
      AND s.started_at > r.ordered_at - INTERVAL '1 day'
),
audience AS (
    SELECT creator_id, upper(a['country']) AS country, a['share'] AS share
    FROM (SELECT creator_id, unnest(audience_countries) AS a FROM creators)
),
audience_known AS (
    SELECT DISTINCT creator_id FROM audience
),
in_audience AS (
    SELECT DISTINCT r.order_id, r.creator_id
    FROM r
    JOIN audience a
      ON a.creator_id = r.creator_id AND a.country = r.country
     AND a.share >= ${code_audience_min_share}
),
recent_post AS (
    SELECT DISTINCT r.order_id, r.creator_id
    FROM r
    JOIN content p
      ON p.creator_id = r.creator_id
     AND p.published_at <= r.ordered_at
     AND p.published_at > r.ordered_at - INTERVAL '${code_post_window_days} days'
),
commission AS (
    SELECT l.order_id, l.creator_id, sum(l.amount * dr.rate_to_base) AS commission
    FROM payout_lines l
    JOIN day_rates dr ON dr.currency = l.currency
    WHERE l.order_id IN (SELECT order_id FROM r)
      AND l.status NOT IN ('not_commissionable', 'rejected', 'reversed')
    GROUP BY l.order_id, l.creator_id
),
flags AS (
    SELECT r.code, r.creator_id, r.order_id, r.is_new_customer,
           r.revenue * dr.rate_to_base AS revenue_base,
           coalesce(cm.commission, 0) AS commission_base,
           t.order_id IS NOT NULL AS touched,
           c.order_id IS NOT NULL AS coupon,
           CASE
             WHEN r.country IS NULL OR ak.creator_id IS NULL THEN NULL
             ELSE ia.order_id IS NULL
           END AS outside,
           rp.order_id IS NULL AS no_recent_post
    FROM r
    JOIN day_rates dr ON dr.currency = r.currency
    LEFT JOIN touched t ON t.order_id = r.order_id AND t.creator_id = r.creator_id
    LEFT JOIN coupon c ON c.order_id = r.order_id
    LEFT JOIN audience_known ak ON ak.creator_id = r.creator_id
    LEFT JOIN in_audience ia ON ia.order_id = r.order_id AND ia.creator_id = r.creator_id
    LEFT JOIN recent_post rp ON rp.order_id = r.order_id AND rp.creator_id = r.creator_id
    LEFT JOIN commission cm ON cm.order_id = r.order_id AND cm.creator_id = r.creator_id
),
counts AS (
    SELECT code,
           creator_id,
           count(*) AS redemptions,
           CAST(round_half_even(sum(revenue_base), 2) AS DECIMAL(18, 2)) AS revenue,
           sum(CASE WHEN is_new_customer THEN 1 ELSE 0 END) AS new_customers,
           sum(CASE WHEN is_new_customer IS NOT NULL THEN 1 ELSE 0 END) AS customer_known,
           sum(CASE WHEN touched THEN 1 ELSE 0 END) AS touched,
           sum(CASE WHEN coupon THEN 1 ELSE 0 END) AS coupon,
           sum(CASE WHEN outside THEN 1 ELSE 0 END) AS outside_audience,
           sum(CASE WHEN outside IS NOT NULL THEN 1 ELSE 0 END) AS country_known,
           sum(CASE WHEN no_recent_post THEN 1 ELSE 0 END) AS no_recent_post,
           CAST(round_half_even(sum(CASE WHEN NOT touched THEN revenue_base ELSE 0 END), 2) AS DECIMAL(18, 2)) AS untouched_revenue,
           CAST(round_half_even(sum(commission_base), 2) AS DECIMAL(18, 2)) AS commission,
           CAST(round_half_even(sum(CASE WHEN NOT touched THEN commission_base ELSE 0 END), 2) AS DECIMAL(18, 2)) AS untouched_commission
    FROM flags
    GROUP BY code, creator_id
)
SELECT code, creator_id, redemptions, revenue,
       new_customers,
       CAST(new_customers AS DOUBLE) / nullif(customer_known, 0) AS new_customer_share,
       touched,
       CAST(touched AS DOUBLE) / redemptions AS touched_share,
       coupon,
       CAST(coupon AS DOUBLE) / redemptions AS coupon_share,
       outside_audience,
       country_known,
       CAST(outside_audience AS DOUBLE) / nullif(country_known, 0) AS outside_audience_share,
       no_recent_post,
       untouched_revenue, commission, untouched_commission
FROM counts
ORDER BY code
