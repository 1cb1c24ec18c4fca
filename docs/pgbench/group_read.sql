-- Reads 100 messages of a category as member 0 of a consumer group of 4
-- with get_category_messages.
\set position random(1, 90000)
SELECT * FROM get_category_messages('bench1', :position, 100, NULL, 0, 4);
