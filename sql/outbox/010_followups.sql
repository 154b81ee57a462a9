-- The follow-ups the run date's facts call for (docs/communications.md):
-- one row per message, with the facts its template reads.
--
-- Each trigger fires once per subject and stage, on a date computed from the
-- data alone (`built_for`, a local date), so a re-run or a backfill finds the
-- same messages; the outbox is a snapshot of every message built for the run
-- date or earlier. A message's facts are those of its `built_for` date, so
-- its text does not change from one run to the next.
--
--   reminder  a deliverable not submitted by the end of the local day
--             outbox_reminder_days before it is due, and not due that day;
--   overdue   a deliverable not submitted by its due time: built for the
--             day it fell due (a late one submitted later that day is told
--             so);
--   checkin   a creator in a launched campaign (a deliverable or a campaign
--             plan) with no post, click or code redemption for the campaign
--             by the end of the local day outbox_checkin_days after launch;
--   compliance a compliance flag (verdict `flag`) on one of the creator's
--             posts that no reviewer has resolved `ok`: built for the day
--             the post was published;
--   leaked_code a code of the creator a person confirmed leaked (halo codes
--             confirm-leak): built for the run date the person decided on.
WITH dl AS (
    SELECT d.deliverable_id, d.campaign_id, d.creator_id, d.kind, d.platform, d.format,
           d.due_at, d.submitted_at,
           CAST(to_local_time(arrow_cast(d.due_at, ${local_ts_type})) AS DATE) AS due_date,
           CAST(to_local_time(arrow_cast(d.due_at - INTERVAL '${outbox_reminder_days} days',
                                         ${local_ts_type})) AS DATE) AS remind_date,
           CAST(to_local_time(arrow_cast(d.submitted_at, ${local_ts_type})) AS DATE) AS submitted_date,
           k.name AS campaign_name
    FROM deliverables d
    LEFT JOIN campaigns k ON k.campaign_id = d.campaign_id
),
participants AS (
    SELECT DISTINCT campaign_id, creator_id FROM deliverables
    UNION
    SELECT DISTINCT campaign_id, creator_id FROM commission_plans WHERE campaign_id IS NOT NULL
),
launches AS (
    SELECT p.campaign_id, p.creator_id, k.name AS campaign_name, k.starts_at,
           CAST(to_local_time(arrow_cast(k.starts_at + INTERVAL '${outbox_checkin_days} days',
                                         ${local_ts_type})) AS DATE) AS checkin_date
    FROM participants p
    JOIN campaigns k ON k.campaign_id = p.campaign_id
    WHERE k.ends_at IS NULL OR k.ends_at > k.starts_at + INTERVAL '${outbox_checkin_days} days'
),
-- Activity for the campaign up to the end of each launch's check-in day.
campaign_posts AS (
    SELECT l.campaign_id, l.creator_id, count(*) AS n
    FROM launches l
    JOIN content c ON c.creator_id = l.creator_id AND c.campaign_id = l.campaign_id
    WHERE CAST(to_local_time(arrow_cast(c.published_at, ${local_ts_type})) AS DATE) <= l.checkin_date
    GROUP BY l.campaign_id, l.creator_id
),
campaign_clicks AS (
    SELECT l.campaign_id, l.creator_id, count(*) AS n
    FROM launches l
    JOIN links k ON k.creator_id = l.creator_id AND k.campaign_id = l.campaign_id
    JOIN clicks c ON c.link_id = k.link_id
    WHERE c.clicked_at >= l.starts_at
      AND CAST(to_local_time(arrow_cast(c.clicked_at, ${local_ts_type})) AS DATE) <= l.checkin_date
    GROUP BY l.campaign_id, l.creator_id
),
campaign_codes AS (
    SELECT l.campaign_id, l.creator_id, count(*) AS n
    FROM launches l
    JOIN codes k ON k.creator_id = l.creator_id AND k.campaign_id = l.campaign_id
    JOIN (SELECT ordered_at, upper(trim(code)) AS code
          FROM (SELECT ordered_at, unnest(discount_codes) AS code FROM orders)) o
      ON o.code = upper(trim(k.code))
    WHERE o.ordered_at >= l.starts_at
      AND CAST(to_local_time(arrow_cast(o.ordered_at, ${local_ts_type})) AS DATE) <= l.checkin_date
    GROUP BY l.campaign_id, l.creator_id
),
messages AS (
    SELECT 'reminder' AS kind, deliverable_id AS subject_key, 'reminder' AS period,
           creator_id, campaign_id, remind_date AS built_for,
           campaign_name, deliverable_id, kind AS deliverable_kind, platform, format, due_at,
           arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))') AS submitted_at,
           arrow_cast(NULL, 'Timestamp(Microsecond, Some("UTC"))') AS starts_at,
           CAST(NULL AS BIGINT) AS days_since_launch,
           CAST(NULL AS VARCHAR) AS content_id, CAST(NULL AS VARCHAR) AS content_url,
           CAST(NULL AS VARCHAR) AS rule_id, CAST(NULL AS VARCHAR) AS jurisdiction,
           CAST(NULL AS VARCHAR) AS severity, CAST(NULL AS VARCHAR) AS evidence,
           CAST(NULL AS VARCHAR) AS matched_text,
           CAST(NULL AS VARCHAR) AS code, CAST(NULL AS DATE) AS leaked_from
    FROM dl
    WHERE remind_date <= ${date}
      AND due_date > remind_date
      AND (submitted_date IS NULL OR submitted_date > remind_date)
    UNION ALL
    SELECT 'overdue' AS kind, deliverable_id AS subject_key, 'overdue' AS period,
           creator_id, campaign_id, due_date AS built_for,
           campaign_name, deliverable_id, kind AS deliverable_kind, platform, format, due_at,
           -- A late delivery the same local day is acknowledged in the notice.
           CASE WHEN submitted_date = due_date THEN submitted_at END AS submitted_at,
           NULL AS starts_at, NULL AS days_since_launch, NULL AS content_id,
           NULL AS content_url, NULL AS rule_id, NULL AS jurisdiction, NULL AS severity,
           NULL AS evidence, NULL AS matched_text, NULL AS code, NULL AS leaked_from
    FROM dl
    WHERE due_date <= ${date}
      AND (submitted_at IS NULL OR submitted_at > due_at)
    UNION ALL
    SELECT 'checkin' AS kind, concat(l.campaign_id, '/', l.creator_id) AS subject_key,
           'checkin' AS period, l.creator_id, l.campaign_id, l.checkin_date AS built_for,
           l.campaign_name, NULL AS deliverable_id, NULL AS deliverable_kind, NULL AS platform,
           NULL AS format, NULL AS due_at, NULL AS submitted_at,
           l.starts_at, CAST(${outbox_checkin_days} AS BIGINT) AS days_since_launch,
           NULL AS content_id, NULL AS content_url, NULL AS rule_id, NULL AS jurisdiction,
           NULL AS severity, NULL AS evidence, NULL AS matched_text, NULL AS code,
           NULL AS leaked_from
    FROM launches l
    LEFT JOIN campaign_posts p ON p.campaign_id = l.campaign_id AND p.creator_id = l.creator_id
    LEFT JOIN campaign_clicks k ON k.campaign_id = l.campaign_id AND k.creator_id = l.creator_id
    LEFT JOIN campaign_codes o ON o.campaign_id = l.campaign_id AND o.creator_id = l.creator_id
    WHERE l.checkin_date <= ${date}
      AND p.n IS NULL AND k.n IS NULL AND o.n IS NULL
    UNION ALL
    SELECT 'compliance' AS kind, f.flag_id AS subject_key, 'compliance' AS period,
           f.creator_id, c.campaign_id,
           CAST(to_local_time(arrow_cast(c.published_at, ${local_ts_type})) AS DATE) AS built_for,
           k.name AS campaign_name, NULL AS deliverable_id, NULL AS deliverable_kind,
           c.platform, c.format, NULL AS due_at, NULL AS submitted_at, NULL AS starts_at,
           NULL AS days_since_launch,
           f.content_id, c.url AS content_url, f.rule_id, f.jurisdiction, f.severity,
           f.evidence, f.matched_text, NULL AS code, NULL AS leaked_from
    FROM compliance_flags f
    JOIN content c ON c.content_id = f.content_id
    LEFT JOIN campaigns k ON k.campaign_id = c.campaign_id
    WHERE f.verdict = 'flag'
      AND (f.decision IS NULL OR f.decision <> 'ok')
    UNION ALL
    SELECT 'leaked_code' AS kind, d.code AS subject_key, 'confirmed' AS period,
           k.creator_id, k.campaign_id, d.decided_on AS built_for,
           g.name AS campaign_name, NULL AS deliverable_id, NULL AS deliverable_kind,
           NULL AS platform, NULL AS format, NULL AS due_at, NULL AS submitted_at,
           NULL AS starts_at, NULL AS days_since_launch, NULL AS content_id,
           NULL AS content_url, NULL AS rule_id, NULL AS jurisdiction, NULL AS severity,
           NULL AS evidence, NULL AS matched_text,
           k.code_as_posted AS code, d.leaked_from
    FROM code_decisions d
    JOIN (SELECT upper(trim(code)) AS code, trim(code) AS code_as_posted, creator_id, campaign_id
          FROM codes) k ON k.code = d.code
    LEFT JOIN campaigns g ON g.campaign_id = k.campaign_id
    WHERE d.decision = 'confirmed'
)
SELECT * FROM messages
ORDER BY kind, subject_key
