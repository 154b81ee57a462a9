-- What each order had refunded by the end of the run date (refunds are
-- clean rows: at most the order's revenue, in its currency). Read by payouts
-- (reversals, clawbacks) and ROI (revenue net of refunds).
SELECT order_id, sum(amount) AS refunded, max(refunded_at) AS last_refund_at
FROM refunds
WHERE refunded_at < ${day_end}
GROUP BY order_id
