-- Reads 100 messages of the fixture's category (fixture.sql, loaded into an
-- empty schema) as member 0 of a consumer group of 4, with
-- get_category_messages: it passes over about 300 messages of the other
-- members.
\set position random(1, 90000)
SELECT * FROM get_category_messages('bench1', :position, 100, NULL, 0, 4);
