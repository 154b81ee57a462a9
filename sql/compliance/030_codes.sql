-- The program's promo codes with their validity, as every table spells a
-- code (trimmed, upper-case); a code listed twice keeps its first owner.
SELECT upper(trim(code)) AS code, min(creator_id) AS creator_id,
       min(valid_from) AS valid_from,
       CASE WHEN count(valid_to) = count(*) THEN max(valid_to) END AS valid_to
FROM codes
GROUP BY upper(trim(code))
ORDER BY 1
