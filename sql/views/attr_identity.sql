-- The customer each anonymous id belongs to: the customer_id of the earliest
-- session or order (ties by id) that carries both, up to the end of the run
-- date. Anonymous ids never seen with a customer are absent.
SELECT anonymous_id,
       first_value(customer_id ORDER BY seen_at, row_id) AS customer_id
FROM (
    SELECT anonymous_id, customer_id, started_at AS seen_at, session_id AS row_id
    FROM sessions
    WHERE customer_id IS NOT NULL AND started_at < ${day_end}
    UNION ALL
    SELECT anonymous_id, customer_id, ordered_at AS seen_at, order_id AS row_id
    FROM orders
    WHERE customer_id IS NOT NULL AND anonymous_id IS NOT NULL AND ordered_at < ${day_end}
)
GROUP BY anonymous_id
