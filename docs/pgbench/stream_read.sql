-- Reads 10 messages of one stream with get_stream_messages. Needs streams
-- bench1-1 … bench1-1000 with at least 10 messages each (see
-- docs/benchmarks.md for a fixture).
\set stream random(1, 1000)
SELECT * FROM get_stream_messages('bench1-' || :stream, 0, 10);
