-- The read scripts' data: 100,000 messages in category bench1, streams
-- bench1-1 … bench1-1000 of 100 messages each, taking turns ten messages
-- at a time so that they interleave as in a live category (the shape of
-- the Go suite's read fixture). Inserted in one statement into the
-- messages table of the schema first on the search_path, then analyzed.
-- Run it once per schema:
--   PGOPTIONS='-c search_path=messagedb_bench' psql DB -f fixture.sql
INSERT INTO messages (id, stream_name, position, type, data, metadata)
SELECT gen_random_uuid(),
  'bench1-' || (1 + (g / 10) % 1000),
  (g / 10000) * 10 + g % 10,
  'Benchmarked',
  '{"amount": 1, "note": "pgbench"}'::jsonb,
  '{"correlationStreamName": "payment-1"}'::jsonb
FROM generate_series(0, 99999) AS g
ORDER BY g;

VACUUM ANALYZE messages;
