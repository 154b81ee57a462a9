-- Sessions of the day (in the job's time zone) by channel and country.
SELECT channel,
       coalesce(country, 'unknown') AS country,
       count(*) AS sessions,
       count(DISTINCT anonymous_id) AS visitors,
       sum(CASE WHEN landing_page_type = 'product' THEN 1 ELSE 0 END) AS product_landings,
       sum(CASE WHEN click_id IS NOT NULL THEN 1 ELSE 0 END) AS tracked_click_sessions,
       sum(CASE WHEN channel IN ('organic_search', 'paid_search')
                 AND regexp_like(lower(search_query), ${brand_terms_pattern})
                THEN 1 ELSE 0 END) AS branded_search_sessions
FROM sessions
WHERE started_at >= ${day_start} AND started_at < ${day_end}
GROUP BY channel, coalesce(country, 'unknown')
ORDER BY channel, country
