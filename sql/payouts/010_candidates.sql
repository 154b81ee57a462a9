-- Commission candidates: one row per (order, creator, plan valid at the
-- order time), or one row with null plan columns when no plan is valid.
-- An order is a candidate for a creator when it used one of the creator's
-- codes (valid at order time), when its journey's last tracked click was on
-- one of the creator's links, or when the default attribution model gave the
-- creator credit. The payouts built-in picks the plan and computes the
-- commission (docs/payouts.md).
--
-- Orders of the last payout_history_days are read; attribution comes from the
-- journeys and touch_credit partitions of their dates (`*_history`).
WITH ord AS (
    SELECT order_id, ordered_at, revenue, currency,
           coalesce(is_new_customer, false) AS is_new_customer,
           CAST(to_local_time(arrow_cast(ordered_at, ${local_ts_type})) AS DATE) AS order_date
    FROM orders
    WHERE ordered_at >= ${payout_history_days_start} AND ordered_at < ${day_end}
),
code_hits AS (
    -- leaked_code: every code of the creator on the order was confirmed
    -- leaked by a person (halo codes confirm-leak) from the order's local
    -- date or earlier; what that means is the plan's leaked_redemptions.
    SELECT k.creator_id, o.order_id, min(k.campaign_id) AS campaign_id,
           CASE WHEN bool_and(d.code IS NOT NULL)
                THEN min('code ' || d.code || ' confirmed leaked from '
                         || CAST(d.leaked_from AS VARCHAR) || ' by ' || d.decided_by)
           END AS leaked_code
    FROM (SELECT order_id, ordered_at, order_date, upper(trim(code)) AS code
          FROM (SELECT o.order_id, o.ordered_at, o.order_date, unnest(x.discount_codes) AS code
                FROM ord o JOIN orders x ON x.order_id = o.order_id)) o
    JOIN codes k ON o.code = upper(trim(k.code))
    LEFT JOIN code_decisions d
           ON d.code = o.code AND d.decision = 'confirmed' AND d.leaked_from <= o.order_date
    WHERE (k.valid_from IS NULL OR o.ordered_at >= k.valid_from)
      AND (k.valid_to IS NULL OR o.ordered_at <= k.valid_to)
    GROUP BY k.creator_id, o.order_id
),
last_click AS (
    SELECT order_id,
           touch_ids[CAST(cardinality(touch_kinds) AS BIGINT) - CAST(array_position(array_reverse(touch_kinds), 'click') AS BIGINT) + 1] AS click_id
    FROM journeys_history
    WHERE converted AND array_has(touch_kinds, 'click')
),
link_hits AS (
    SELECT l.creator_id, lc.order_id, l.campaign_id
    FROM last_click lc
    JOIN clicks c ON c.click_id = lc.click_id
    JOIN links l ON l.link_id = c.link_id
),
-- The default model's credit, read once: per creator and campaign, and the
-- order's value (its credit summed over every touch).
model_touches AS (
    SELECT t.order_id, t.creator_id, ct.campaign_id, t.revenue_credit,
           sum(t.revenue_credit) OVER (PARTITION BY t.order_id) AS model_value
    FROM touch_credit_history t
    LEFT JOIN content ct ON ct.content_id = t.content_id
    WHERE t.model = ${attribution_default_model}
),
credit AS (
    SELECT order_id, creator_id, campaign_id, sum(revenue_credit) AS credit
    FROM model_touches
    WHERE creator_id IS NOT NULL
    GROUP BY order_id, creator_id, campaign_id
),
model_hits AS (
    SELECT order_id, creator_id, sum(credit) AS model_credit,
           -- the campaign with the most credit; ties to the smaller id
           first_value(campaign_id ORDER BY credit DESC, campaign_id ASC NULLS LAST) AS campaign_id
    FROM credit
    GROUP BY order_id, creator_id
),
model_value AS (
    SELECT DISTINCT order_id, model_value FROM model_touches
),
pairs AS (
    SELECT order_id, creator_id,
           bool_or(src = 'code') AS has_code,
           bool_or(src = 'link') AS has_link,
           max(model_credit) AS model_credit,
           max(leaked_code) AS leaked_code,
           -- code's campaign, then the link's, then the model's
           coalesce(max(CASE WHEN src = 'code' THEN campaign_id END),
                    max(CASE WHEN src = 'link' THEN campaign_id END),
                    max(CASE WHEN src = 'model' THEN campaign_id END)) AS touch_campaign
    FROM (
        SELECT order_id, creator_id, 'code' AS src, campaign_id, CAST(NULL AS DECIMAL(18, 2)) AS model_credit, leaked_code FROM code_hits
        UNION ALL
        SELECT order_id, creator_id, 'link', campaign_id, CAST(NULL AS DECIMAL(18, 2)), CAST(NULL AS VARCHAR) FROM link_hits
        UNION ALL
        SELECT order_id, creator_id, 'model', campaign_id, model_credit, CAST(NULL AS VARCHAR) FROM model_hits
    )
    GROUP BY order_id, creator_id
),
rates AS (
    SELECT currency, "date", rate_to_base FROM fx_rates WHERE currency <> ${base_currency}
    UNION ALL
    SELECT ${base_currency}, d, CAST(1 AS DECIMAL(18, 8))
    FROM (SELECT DISTINCT order_date AS d FROM ord)
)
SELECT p.order_id, p.creator_id, o.ordered_at, o.order_date, o.revenue, o.currency,
       ro.rate_to_base AS order_rate, o.is_new_customer,
       r.refunded, r.last_refund_at,
       p.has_code, p.has_link, p.model_credit, mv.model_value, p.touch_campaign, p.leaked_code,
       cp.plan_id, cp.campaign_id AS plan_campaign_id, cp.valid_from AS plan_valid_from,
       cp.rate_percent, cp.flat_per_order, cp.new_customer_rate_percent, cp.tiers,
       cp.lock_days, cp.credit_basis, cp.currency AS plan_currency,
       coalesce(cp.leaked_redemptions, 'pay') AS leaked_redemptions,
       rp.rate_to_base AS plan_rate
FROM pairs p
JOIN ord o ON o.order_id = p.order_id
LEFT JOIN order_refunds r ON r.order_id = p.order_id
LEFT JOIN model_value mv ON mv.order_id = p.order_id
LEFT JOIN commission_plans cp
       ON cp.creator_id = p.creator_id
      AND o.ordered_at >= cp.valid_from
      AND (cp.valid_to IS NULL OR o.ordered_at <= cp.valid_to)
LEFT JOIN rates ro ON ro.currency = o.currency AND ro."date" = o.order_date
LEFT JOIN rates rp ON rp.currency = cp.currency AND rp."date" = o.order_date
ORDER BY p.order_id, p.creator_id, cp.plan_id
