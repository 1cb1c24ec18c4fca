-- The floor for write_message.sql: a plain INSERT of the same row into the
-- same messages table (same indexes, same commit) with no function, no
-- lock, no version lookup. The stream's position is random so that rows
-- never collide. Its throughput bounds what any write function on that
-- table can reach.
\set category random(1, 10)
\set position random(0, 9000000000000000000)
INSERT INTO messages (id, stream_name, position, type, data, metadata)
VALUES (gen_random_uuid(), 'floor' || :category || '-' || :client_id, :position,
  'Benchmarked', '{"amount": 1, "note": "pgbench"}'::jsonb, '{"source": "pgbench"}'::jsonb);
