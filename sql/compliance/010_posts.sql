-- The posts the compliance check reads: every post published in the
-- compliance_days up to the run date's end, with what the rules need from
-- its creator (country of residence, audience countries) and the products
-- its campaign promotes (null without a campaign). In content_id order, so
-- the check's output does not depend on file order.
SELECT c.content_id, c.creator_id, c.campaign_id, c.platform, c.format,
       c.published_at, c.caption, c.transcript, c.language, c.link_ids,
       c.promo_codes, c.detected_products,
       upper(cr.country) AS creator_country, cr.audience_countries,
       k.skus AS campaign_skus
FROM content c
JOIN creators cr ON cr.creator_id = c.creator_id
LEFT JOIN campaigns k ON k.campaign_id = c.campaign_id
WHERE c.published_at < ${day_end}
  AND c.published_at >= ${compliance_days_start}
ORDER BY c.content_id
