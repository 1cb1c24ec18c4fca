-- One write_message call to a random stream of one of 10 categories, as a
-- Message DB client writes. Run against any Message DB-compatible schema by
-- putting it first on the search_path (see docs/benchmarks.md):
--   PGOPTIONS='-c search_path=messagedb_bench' pgbench -n -f write_message.sql -c 16 -j 2 -T 10 DB
\set category random(1, 10)
\set stream random(1, 100000)
SELECT write_message(gen_random_uuid()::varchar, 'bench' || :category || '-' || :stream,
  'Benchmarked', '{"amount": 1, "note": "pgbench"}'::jsonb, '{"source": "pgbench"}'::jsonb);
