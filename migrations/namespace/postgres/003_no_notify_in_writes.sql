-- Writes no longer notify inside their transaction.
--
-- A transaction that has called NOTIFY takes, when it commits, one lock for
-- the whole cluster (every database, every namespace) and holds it until
-- its commit record is flushed: the commits of all notifying writers were
-- made one at a time, and group commit could not share a flush between
-- them. The Go Store now sends one notification per category after the
-- write has committed, outside the write's transaction, coalescing those of
-- concurrent writes (see adapters/postgres). A Message DB client calling
-- write_message through SQL is seen by consumers at their next poll, or at
-- once if it notifies the category's channel after its commit itself:
--   SELECT pg_notify({{SCHEMA_NAME}}.notify_channel('account'), '');
--
-- Both functions are otherwise those of 002.
CREATE OR REPLACE FUNCTION {{SCHEMA_NAME}}.write_message(
  id varchar,
  stream_name varchar,
  "type" varchar,
  data jsonb,
  metadata jsonb DEFAULT NULL,
  expected_version bigint DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  _message_id uuid;
  _stream_version bigint;
  _next_position bigint;
BEGIN
  PERFORM {{SCHEMA_NAME}}.acquire_lock(write_message.stream_name);

  SELECT COALESCE(max(m.position), -1) INTO _stream_version
  FROM {{SCHEMA_NAME}}.messages m
  WHERE m.stream_name = write_message.stream_name;

  IF write_message.expected_version IS NOT NULL THEN
    IF write_message.expected_version != _stream_version THEN
      RAISE EXCEPTION
        'Wrong expected version: % (Stream: %, Stream Version: %)',
        write_message.expected_version,
        write_message.stream_name,
        _stream_version;
    END IF;
  END IF;

  _next_position := _stream_version + 1;

  _message_id := write_message.id::uuid;

  INSERT INTO {{SCHEMA_NAME}}.messages
    (id, stream_name, position, type, data, metadata)
  VALUES
    (_message_id, write_message.stream_name, _next_position,
     write_message.type, write_message.data, write_message.metadata);

  IF current_setting('message_store.debug_write', true) = 'on' OR current_setting('message_store.debug', true) = 'on' THEN
    RAISE NOTICE '» write_message';
    RAISE NOTICE 'id ($1): %', write_message.id;
    RAISE NOTICE 'stream_name ($2): %', write_message.stream_name;
    RAISE NOTICE 'type ($3): %', write_message.type;
    RAISE NOTICE 'data ($4): %', write_message.data;
    RAISE NOTICE 'metadata ($5): %', write_message.metadata;
    RAISE NOTICE 'expected_version ($6): %', write_message.expected_version;
    RAISE NOTICE '_stream_version: %', _stream_version;
    RAISE NOTICE '_next_position: %', _next_position;
  END IF;

  RETURN _next_position;
END;
$$;

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
END;
$$;
