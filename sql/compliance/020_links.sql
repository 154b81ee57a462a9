-- The program's tracked links, full and short: a link in a post is checked
-- against its owner and campaign here.
SELECT link_id, creator_id, campaign_id, content_id, destination_url, short_url
FROM links
ORDER BY link_id
