-- recommendations: what to do next with each creator, and with each of a
-- creator's platform and format rows, for the month and to date. A person
-- decides; nothing here is applied (docs/roi.md, "Recommendations").
--
-- Every row is judged on its ROAS shrunk by empirical Bayes (the creator
-- rows take performance_by's prior; the platform and format rows fit their
-- own the same way, over creator_platform), with a normal posterior whose
-- variance adds the pooled mean's own uncertainty. The probabilities below
-- come from it:
--   p_meets_target  P(true ROAS >= recommend_target_roas)
--   p_loses_money   P(true ROAS < the break-even ROAS), break-even being
--                   1 / (1 - goods' share of revenue) over the period's rows
-- and the first rule that holds gives performance_action:
--   scale              p_meets_target >= recommend_confidence and revenue
--                      not falling by more than recommend_trend_drop
--   pause              p_loses_money >= recommend_confidence and lift per
--                      post below its peers' median
--   renegotiate_terms  shrunk ROAS below target while the content works
--                      (lift per post at or above the peers' median) or each
--                      commissioned sale loses money (commission rate at or
--                      above the gross margin rate)
--   rework_content     shrunk ROAS below target and lift per post below
--                      recommend_peer_ratio x the peers' median
--   keep               anything else (meets the target without certainty,
--                      or too little evidence to change)
-- action is performance_action unless something needs a person first:
--   investigate        an open compliance flag of high severity (verdict
--                      flag, no decision) on its posts, or (creator rows) a
--                      code suspected or likely leaked and not yet decided.
-- Peers: the other rows of the same platform and format (creator rows: all
-- creators) with posts in the period. Lift per post is dark-social
-- incremental visits per post. Trend: combined revenue of the last
-- recommend_trend_days against the days before.

-- The creator rows: performance_by's creator dimension with the reach of
-- creator_platform.
WITH creator_reach AS (
    SELECT period, period_start, creator_id, sum(posts) AS posts, sum(incremental_visits) AS incremental_visits,
           sum(cost_of_goods) AS cost_of_goods
    FROM creator_platform GROUP BY period, period_start, creator_id
),
creator_rows AS (
    SELECT 'creator' AS level, b.period, b.period_start, b.key AS creator_id,
           CAST(NULL AS VARCHAR) AS platform, CAST(NULL AS VARCHAR) AS format,
           coalesce(r.posts, 0) AS posts, coalesce(r.incremental_visits, 0) AS incremental_visits,
           b.orders, b.combined_revenue, coalesce(r.cost_of_goods, CAST(0 AS DECIMAL(18, 2))) AS cost_of_goods,
           b.total_cost, b.roas, power(b.roas_se, 2) AS v, power(b.prior_sd, 2) AS tau2
    FROM performance_by b
    LEFT JOIN creator_reach r ON r.period = b.period AND r.creator_id = b.key
    WHERE b.dimension = 'creator'
),
-- The platform and format rows' prior: the DerSimonian-Laird estimate, as in
-- performance_by, over creator_platform's rows with a ROAS.
cross_moments AS (
    SELECT period,
           count(*) AS k,
           CAST(sum(CAST(1 / v AS DECIMAL(38, 10))) AS DOUBLE) AS sw,
           CAST(sum(CAST(1 / (v * v) AS DECIMAL(38, 6))) AS DOUBLE) AS sw2,
           CAST(sum(CAST(roas / v AS DECIMAL(38, 10))) AS DOUBLE) AS swy,
           CAST(sum(CAST(roas * roas / v AS DECIMAL(38, 10))) AS DOUBLE) AS swy2
    FROM (SELECT period, roas, power(roas_se, 2) AS v FROM creator_platform WHERE roas IS NOT NULL AND roas_se > 0)
    GROUP BY period
),
cross_rows AS (
    SELECT 'creator_platform_format' AS level, c.period, c.period_start, c.creator_id, c.platform, c.format,
           c.posts, c.incremental_visits, c.orders, c.combined_revenue, c.cost_of_goods, c.total_cost,
           c.roas, power(c.roas_se, 2) AS v,
           CASE WHEN m.k >= 2 THEN greatest(0, (m.swy2 - m.swy * m.swy / m.sw - (m.k - 1)) / (m.sw - m.sw2 / m.sw)) END AS tau2
    FROM creator_platform c LEFT JOIN cross_moments m ON m.period = c.period
),
all_rows AS (
    SELECT * FROM creator_rows UNION ALL SELECT * FROM cross_rows
),
pooled AS (
    SELECT *,
           CAST(sum(combined_revenue) OVER lv AS DOUBLE) / nullif(CAST(sum(total_cost) OVER lv AS DOUBLE), 0) AS pooled_roas,
           CAST(sum(cost_of_goods) OVER lv AS DOUBLE) / nullif(CAST(sum(combined_revenue) OVER lv AS DOUBLE), 0) AS goods_share,
           -- The pooled mean's variance, 1 / sum of 1 / (v + tau2).
           1 / nullif(CAST(sum(CASE WHEN roas IS NOT NULL AND v + tau2 > 0 THEN CAST(1 / (v + tau2) AS DECIMAL(38, 10)) END) OVER lv AS DOUBLE), 0) AS mean_var
    FROM all_rows
    WINDOW lv AS (PARTITION BY level, period)
),
posterior AS (
    SELECT *,
           CASE WHEN roas IS NOT NULL THEN coalesce(tau2 / nullif(tau2 + v, 0), 0) END AS credibility
    FROM pooled
),
judged AS (
    SELECT *,
           credibility * roas + (1 - credibility) * coalesce(pooled_roas, roas) AS roas_shrunk,
           sqrt(credibility * v + power(1 - credibility, 2) * coalesce(mean_var, 0)) AS posterior_sd,
           CASE WHEN goods_share < 1 THEN 1 / (1 - goods_share) END AS breakeven_roas
    FROM posterior
),
-- Lift per post and its peers' median.
lifted AS (
    SELECT *,
           CASE WHEN posts > 0 THEN incremental_visits / posts END AS lift_per_post
    FROM judged
),
peers AS (
    SELECT level, period, platform, format, median(lift_per_post) AS peer_lift_per_post
    FROM lifted WHERE posts > 0
    GROUP BY level, period, platform, format
),
-- Revenue in the last recommend_trend_days and the days before.
trend_facts AS (
    SELECT creator_id, platform, format,
           CASE WHEN d > ${date} - INTERVAL '${recommend_trend_days} days' THEN amount END AS recent,
           CASE WHEN d <= ${date} - INTERVAL '${recommend_trend_days} days' THEN amount END AS before
    FROM roi_facts
    WHERE (fact = 'incremental' OR (fact = 'attributed' AND model = ${attribution_default_model}))
      AND d > ${date} - INTERVAL '${recommend_trend_days} days' - INTERVAL '${recommend_trend_days} days'
      AND d <= ${date}
),
trend AS (
    SELECT 'creator' AS level, creator_id, CAST(NULL AS VARCHAR) AS platform, CAST(NULL AS VARCHAR) AS format,
           sum(recent) AS recent, sum(before) AS before
    FROM trend_facts GROUP BY creator_id
    UNION ALL
    SELECT 'creator_platform_format', creator_id, platform, format, sum(recent), sum(before)
    FROM trend_facts GROUP BY creator_id, platform, format
),
-- Terms: the creator's commission against its gross margin, per period.
terms AS (
    SELECT f.period, f.creator_id,
           sum(CASE WHEN f.fact = 'cost' AND f.cost_kind = 'commission' THEN f.amount END) AS commission,
           sum(CASE WHEN f.fact = 'attributed' THEN f.amount END) AS attributed_revenue
    FROM (SELECT p.period, x.* FROM roi_facts x
          JOIN (SELECT DISTINCT period, period_start FROM creator_platform) p ON x.d >= p.period_start AND x.d <= ${date}
          WHERE x.fact <> 'attributed' OR x.model = ${attribution_default_model}) f
    GROUP BY f.period, f.creator_id
),
-- Open findings: compliance flags on the creator's posts without a decision,
-- and codes under suspicion without one.
open_findings AS (
    SELECT f.creator_id, ct.platform, ct.format,
           CASE WHEN f.verdict = 'flag' THEN 1 ELSE 0 END AS is_flag,
           CASE WHEN f.verdict = 'flag' AND f.severity = 'high' THEN 1 ELSE 0 END AS is_high,
           CASE WHEN f.verdict = 'needs_review' THEN 1 ELSE 0 END AS is_review
    FROM compliance_flags f
    LEFT JOIN content ct ON ct.content_id = f.content_id
    WHERE f.verdict <> 'pass' AND f.decision IS NULL
),
open_flags AS (
    SELECT 'creator' AS level, creator_id, CAST(NULL AS VARCHAR) AS platform, CAST(NULL AS VARCHAR) AS format,
           sum(is_flag) AS open_flags, sum(is_high) AS high_flags, sum(is_review) AS open_reviews
    FROM open_findings GROUP BY creator_id
    UNION ALL
    SELECT 'creator_platform_format', creator_id, platform, format, sum(is_flag), sum(is_high), sum(is_review)
    FROM open_findings GROUP BY creator_id, platform, format
),
leaks AS (
    SELECT creator_id,
           sum(CASE WHEN status = 'likely_leaked' THEN 1 ELSE 0 END) AS likely_leaked,
           sum(CASE WHEN status = 'suspected' THEN 1 ELSE 0 END) AS suspected,
           CAST(sum(leaked_revenue) AS DECIMAL(18, 2)) AS leaked_revenue
    FROM code_leaks
    WHERE status IN ('suspected', 'likely_leaked') AND decision IS NULL
    GROUP BY creator_id
),
facts AS (
    SELECT l.*, p.peer_lift_per_post,
           CASE WHEN p.peer_lift_per_post > 0 THEN l.lift_per_post / p.peer_lift_per_post END AS lift_ratio,
           CASE WHEN t.before > 0 THEN CAST(t.recent - t.before AS DOUBLE) / CAST(t.before AS DOUBLE) END AS revenue_trend,
           CASE WHEN m.attributed_revenue > 0 THEN CAST(coalesce(m.commission, 0) AS DOUBLE) / CAST(m.attributed_revenue AS DOUBLE) END AS commission_rate,
           CASE WHEN l.combined_revenue > 0 THEN 1 - CAST(l.cost_of_goods AS DOUBLE) / CAST(l.combined_revenue AS DOUBLE) END AS margin_rate,
           coalesce(o.open_flags, 0) AS open_flags, coalesce(o.high_flags, 0) AS high_flags,
           coalesce(o.open_reviews, 0) AS open_reviews,
           CASE WHEN l.level = 'creator' THEN coalesce(k.likely_leaked, 0) ELSE 0 END AS likely_leaked_codes,
           CASE WHEN l.level = 'creator' THEN coalesce(k.suspected, 0) ELSE 0 END AS suspected_codes,
           CASE WHEN l.level = 'creator' THEN k.leaked_revenue END AS leaked_revenue,
           -- Distances of the posterior mean to each threshold, in posterior
           -- standard deviations (clamped where the CDF below is flat).
           l.roas_shrunk - ${recommend_target_roas} AS above_target,
           l.breakeven_roas - l.roas_shrunk AS below_breakeven,
           least(greatest((l.roas_shrunk - ${recommend_target_roas}) / nullif(l.posterior_sd, 0), -8), 8) AS z_meets,
           least(greatest((l.breakeven_roas - l.roas_shrunk) / nullif(l.posterior_sd, 0), -8), 8) AS z_loses
    FROM lifted l
    LEFT JOIN peers p ON p.level = l.level AND p.period = l.period
                     AND (p.platform IS NOT DISTINCT FROM l.platform) AND (p.format IS NOT DISTINCT FROM l.format)
    LEFT JOIN trend t ON t.level = l.level AND t.creator_id = l.creator_id
                     AND (t.platform IS NOT DISTINCT FROM l.platform) AND (t.format IS NOT DISTINCT FROM l.format)
    LEFT JOIN terms m ON m.period = l.period AND m.creator_id = l.creator_id
    LEFT JOIN open_flags o ON o.level = l.level AND o.creator_id = l.creator_id
                          AND (o.platform IS NOT DISTINCT FROM l.platform) AND (o.format IS NOT DISTINCT FROM l.format)
    LEFT JOIN leaks k ON k.creator_id = l.creator_id
),
-- Standard normal CDF (logistic form of Bowling et al. 2009, error below
-- 2e-4). A zero posterior spread (every key at the pooled ROAS with
-- certainty) makes a probability 0 or 1 by which side of the threshold the
-- key is on.
probs AS (
    SELECT *,
           CASE WHEN above_target IS NULL THEN NULL
                WHEN posterior_sd > 0 THEN 1 / (1 + exp(-(0.07056 * power(z_meets, 3) + 1.5976 * z_meets)))
                WHEN above_target >= 0 THEN 1.0 ELSE 0.0 END AS p_meets_target,
           CASE WHEN below_breakeven IS NULL THEN NULL
                WHEN posterior_sd > 0 THEN 1 / (1 + exp(-(0.07056 * power(z_loses, 3) + 1.5976 * z_loses)))
                WHEN below_breakeven > 0 THEN 1.0 ELSE 0.0 END AS p_loses_money
    FROM facts
),
-- The action the numbers alone give, then open findings on top.
performance AS (
    SELECT *,
           CASE
               WHEN p_meets_target >= ${recommend_confidence}
                    AND (revenue_trend IS NULL OR revenue_trend >= -${recommend_trend_drop}) THEN 'scale'
               WHEN p_loses_money >= ${recommend_confidence} AND (lift_ratio IS NULL OR lift_ratio < 1) THEN 'pause'
               WHEN roas_shrunk < ${recommend_target_roas}
                    AND (lift_ratio >= 1 OR commission_rate >= margin_rate) THEN 'renegotiate_terms'
               WHEN roas_shrunk < ${recommend_target_roas} AND lift_ratio < ${recommend_peer_ratio} THEN 'rework_content'
               ELSE 'keep'
           END AS performance_action
    FROM probs
),
decided AS (
    SELECT *,
           CASE WHEN high_flags > 0 OR likely_leaked_codes > 0 OR suspected_codes > 0 THEN 'investigate'
                ELSE performance_action END AS action
    FROM performance
),
-- The probability behind each action; investigate rests on findings, not
-- on a probability.
scored AS (
    SELECT *,
           CASE performance_action
               WHEN 'scale' THEN p_meets_target
               WHEN 'pause' THEN p_loses_money
               WHEN 'keep' THEN CASE WHEN roas_shrunk >= ${recommend_target_roas} THEN p_meets_target ELSE 1 - p_loses_money END
               ELSE 1 - p_meets_target
           END AS performance_probability
    FROM decided
)
SELECT level, period, period_start, creator_id, platform, format, action,
       CASE WHEN action = 'investigate'
                 THEN CASE WHEN likely_leaked_codes > 0 OR high_flags > 1 THEN 'high' ELSE 'medium' END
            WHEN performance_probability >= 0.95 THEN 'high'
            WHEN performance_probability >= ${recommend_confidence} THEN 'medium'
            ELSE 'low' END AS confidence,
       CASE WHEN action <> 'investigate' THEN performance_probability END AS probability,
       performance_action, performance_probability,
       concat_ws('; ',
           CASE WHEN open_flags > 0 THEN concat(CAST(open_flags AS VARCHAR), ' open compliance flag(s), ',
                                                CAST(high_flags AS VARCHAR), ' of high severity') END,
           CASE WHEN likely_leaked_codes + suspected_codes > 0
                THEN concat(CAST(likely_leaked_codes AS VARCHAR), ' code(s) likely leaked, ', CAST(suspected_codes AS VARCHAR),
                            ' suspected, leaked revenue ', CAST(coalesce(leaked_revenue, 0) AS VARCHAR)) END,
           CASE WHEN roas IS NULL THEN 'no cost in the period, so no ROAS'
                ELSE concat('ROAS ', CAST(round(roas, 2) AS VARCHAR), ', shrunk ', CAST(round(roas_shrunk, 2) AS VARCHAR),
                            ' +/- ', CAST(round(posterior_sd, 2) AS VARCHAR), ' against target ', CAST(${recommend_target_roas} AS VARCHAR),
                            ' (P meets ', CAST(round(p_meets_target, 3) AS VARCHAR), ') and break-even ',
                            CAST(round(breakeven_roas, 2) AS VARCHAR), ' (P loses money ', CAST(round(p_loses_money, 3) AS VARCHAR), ')') END,
           CASE WHEN lift_ratio IS NOT NULL
                THEN concat('lift ', CAST(round(lift_per_post, 1) AS VARCHAR), ' visits per post, ',
                            CAST(round(lift_ratio, 2) AS VARCHAR), 'x the peers'' median ', CAST(round(peer_lift_per_post, 1) AS VARCHAR)) END,
           CASE WHEN revenue_trend IS NOT NULL
                THEN concat('revenue ', CAST(round(100 * revenue_trend, 0) AS VARCHAR), '% over the last ',
                            CAST(${recommend_trend_days} AS VARCHAR), ' days') END,
           CASE WHEN commission_rate IS NOT NULL AND margin_rate IS NOT NULL
                THEN concat('commission ', CAST(round(100 * commission_rate, 1) AS VARCHAR), '% of attributed revenue against a ',
                            CAST(round(100 * margin_rate, 1) AS VARCHAR), '% gross margin') END
       ) AS reason,
       posts, incremental_visits, orders, combined_revenue, total_cost,
       roas, sqrt(v) AS roas_se, credibility, roas_shrunk, posterior_sd,
       CAST(${recommend_target_roas} AS DOUBLE) AS target_roas, breakeven_roas,
       p_meets_target, p_loses_money,
       lift_per_post, peer_lift_per_post, lift_ratio, revenue_trend, commission_rate, margin_rate,
       open_flags, high_flags, open_reviews, likely_leaked_codes, suspected_codes, leaked_revenue
FROM scored
ORDER BY level, period, creator_id, platform, format
