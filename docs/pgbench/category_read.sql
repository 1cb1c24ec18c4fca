-- Reads 100 messages of a category from a random global position with
-- get_category_messages, as a consumer pages through it.
\set position random(1, 90000)
SELECT * FROM get_category_messages('bench1', :position, 100);
