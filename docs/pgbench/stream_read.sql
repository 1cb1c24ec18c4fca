-- Reads 10 messages of one of the fixture's streams (fixture.sql) from a
-- random position with get_stream_messages.
\set stream random(1, 1000)
\set position random(0, 90)
SELECT * FROM get_stream_messages('bench1-' || :stream, :position, 10);
