-- Faster writes, with the same results.
--
-- group_hash is a stored generated column, computed by the SQL function
-- group_hash(), which called hash_64(), cardinal_id() and id(). PostgreSQL
-- prepares a generated column's expression for every INSERT statement,
-- which meant parsing and inlining those four SQL functions each time:
-- about a third of the server's work for a one-message write.
--
-- group_hash() becomes one expression of built-in functions, with a
-- SQL-standard body (stored parsed, so inlining it parses nothing). In a
-- namespace that holds no message yet (one being created), the column is
-- also made again with that expression itself, so that nothing is inlined
-- at all. A namespace that holds messages keeps its column, computed by
-- group_hash(), so that this migration never rewrites a table; the values
-- are the same either way.
CREATE OR REPLACE FUNCTION {{SCHEMA_NAME}}.group_hash(stream_name varchar)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ((pg_catalog.abs(('x' || pg_catalog.left(pg_catalog.md5(pg_catalog.split_part(
    CASE WHEN pg_catalog.strpos(stream_name, '-') = 0 THEN NULL
      ELSE pg_catalog.substr(stream_name, pg_catalog.strpos(stream_name, '-') + 1) END,
    '+', 1)), 16))::bit(64)::bigint::numeric)
  + 9223372036854775808) % 18446744073709551616 - 9223372036854775808)::bigint;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM {{SCHEMA_NAME}}.messages) THEN
    ALTER TABLE {{SCHEMA_NAME}}.messages DROP COLUMN group_hash;

    ALTER TABLE {{SCHEMA_NAME}}.messages ADD COLUMN group_hash bigint GENERATED ALWAYS AS (
      ((pg_catalog.abs(('x' || pg_catalog.left(pg_catalog.md5(pg_catalog.split_part(
          CASE WHEN pg_catalog.strpos(stream_name, '-') = 0 THEN NULL
            ELSE pg_catalog.substr(stream_name, pg_catalog.strpos(stream_name, '-') + 1) END,
          '+', 1)), 16))::bit(64)::bigint::numeric)
        + 9223372036854775808) % 18446744073709551616 - 9223372036854775808)::bigint
    ) STORED;

    -- Dropped with the column it includes; as in 001.
    CREATE INDEX messages_category ON {{SCHEMA_NAME}}.messages (
      {{SCHEMA_NAME}}.category(stream_name),
      global_position,
      {{SCHEMA_NAME}}.category(metadata->>'correlationStreamName')
    ) INCLUDE (stream_name, group_hash);
  END IF;
END;
$$;

-- The write functions' statements take their parameters from PL/pgSQL
-- variables; PostgreSQL planned them again on every call (custom plans,
-- since an array parameter's generic estimate looks costlier). Their
-- generic plans are the same index lookups.
ALTER FUNCTION {{SCHEMA_NAME}}.write_message(varchar, varchar, varchar, jsonb, jsonb, bigint)
  SET plan_cache_mode = force_generic_plan;

-- As in 001, with the category lock taken inline rather than through
-- acquire_lock (one PL/pgSQL call less), and generic plans.
CREATE OR REPLACE FUNCTION {{SCHEMA_NAME}}.write_messages(
  stream_name varchar,
  ids uuid[],
  types varchar[],
  data jsonb[],
  metadata jsonb[],
  expected_version bigint DEFAULT NULL
)
RETURNS TABLE (
  out_id uuid,
  out_stream_name varchar,
  out_type varchar,
  out_position bigint,
  out_global_position bigint,
  out_written boolean
)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  _category varchar := {{SCHEMA_NAME}}.category(write_messages.stream_name);
  _stream_version bigint;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock({{SCHEMA_NAME}}.hash_64('{{SCHEMA_NAME}}:' || _category));

  RETURN QUERY
    SELECT m.id, m.stream_name::varchar, m.type::varchar, m.position, m.global_position, false
    FROM {{SCHEMA_NAME}}.messages m
    WHERE m.id = ANY (write_messages.ids)
    ORDER BY m.global_position;
  IF FOUND THEN
    RETURN;
  END IF;

  SELECT COALESCE(max(m.position), -1) INTO _stream_version
  FROM {{SCHEMA_NAME}}.messages m
  WHERE m.stream_name = write_messages.stream_name;

  IF write_messages.expected_version IS NOT NULL AND
      write_messages.expected_version != _stream_version THEN
    RAISE EXCEPTION
      'Wrong expected version: % (Stream: %, Stream Version: %)',
      write_messages.expected_version,
      write_messages.stream_name,
      _stream_version;
  END IF;

  RETURN QUERY
    INSERT INTO {{SCHEMA_NAME}}.messages AS m
      (id, stream_name, position, type, data, metadata)
    SELECT u.id, write_messages.stream_name, _stream_version + u.n, u.type, u.data, u.metadata
    FROM ROWS FROM (
        pg_catalog.unnest(write_messages.ids),
        pg_catalog.unnest(write_messages.types),
        pg_catalog.unnest(write_messages.data),
        pg_catalog.unnest(write_messages.metadata)
      ) WITH ORDINALITY AS u(id, type, data, metadata, n)
    ORDER BY u.n
    RETURNING m.id, m.stream_name::varchar, m.type::varchar, m.position, m.global_position, true;

  PERFORM pg_catalog.pg_notify({{SCHEMA_NAME}}.notify_channel(_category), '');
END;
$$;
