-- Reads 100 messages of the fixture's category (fixture.sql, loaded into an
-- empty schema, so global positions 1 to 100,000) from a random global
-- position with get_category_messages, as a consumer pages through it.
\set position random(1, 90000)
SELECT * FROM get_category_messages('bench1', :position, 100);
