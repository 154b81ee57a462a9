-- Who each message goes to: every creator with what the outbox needs to
-- address them (a creator without an email, or `ended`, gets no message:
-- its messages are `suppressed` with the reason).
SELECT creator_id, display_name, email, status, upper(country) AS country
FROM creators
ORDER BY creator_id
