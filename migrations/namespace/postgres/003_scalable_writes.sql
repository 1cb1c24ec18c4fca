-- Writes that scale with writers: no NOTIFY inside a write's transaction,
-- and less work per write.
--
-- A transaction that has called NOTIFY takes, when it commits, one lock for
-- the whole cluster (every database, every namespace) and holds it until
-- its commit record is flushed: the commits of all notifying writers were
-- made one at a time, and group commit could not share a flush between
-- them. The Go Store now sends one notification per category after the
-- write has committed, outside the write's transaction, coalescing those of
-- concurrent writes (see adapters/postgres). A Message DB client calling
-- write_message through SQL is seen by consumers at their next poll, or at
-- once if it notifies the category's channel after its commit:
--   SELECT pg_notify({{SCHEMA_NAME}}.notify_channel('account'), '');
--
-- write_message takes the category lock inline, as Message DB's does (its
-- debug notices are Message DB's, the lock key being this namespace's).
-- write_messages looks its ids up only when the caller asks (ids it was
-- given, which may be a retry's), not for the random ids it makes itself,
-- and inserts a batch of one message without unnesting the arrays.

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
  _category varchar;
  _category_name_hash bigint;
BEGIN
  _message_id := write_message.id::uuid;

  _category := {{SCHEMA_NAME}}.category(write_message.stream_name);
  _category_name_hash := {{SCHEMA_NAME}}.hash_64('{{SCHEMA_NAME}}:' || _category);
  PERFORM pg_catalog.pg_advisory_xact_lock(_category_name_hash);

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
    RAISE NOTICE '_category: %', _category;
    RAISE NOTICE '_category_name_hash: %', _category_name_hash;
    RAISE NOTICE '_stream_version: %', _stream_version;
    RAISE NOTICE '_next_position: %', _next_position;
  END IF;

  RETURN _next_position;
END;
$$;

-- Writes a batch to one stream, all or nothing, for the Go adapter: one
-- round trip, the expected version checked once. With check_ids (the
-- default), if any of the ids is stored already, nothing is written and the
-- stored messages with those ids are returned (written = false): the caller
-- decides whether the call is an idempotent retry. The lookup follows the
-- category lock, so a retry racing with its first attempt in the same
-- category sees it. A caller whose ids are all new (random ones it has just
-- made) passes check_ids false and skips the lookup; should an id be stored
-- after all, the insert fails on the unique index messages_id.
--
-- It replaces the six-argument function of 001 and 002, which calls with
-- six arguments still reach (check_ids is then true).
DROP FUNCTION {{SCHEMA_NAME}}.write_messages(varchar, uuid[], varchar[], jsonb[], jsonb[], bigint);

CREATE FUNCTION {{SCHEMA_NAME}}.write_messages(
  stream_name varchar,
  ids uuid[],
  types varchar[],
  data jsonb[],
  metadata jsonb[],
  expected_version bigint DEFAULT NULL,
  check_ids boolean DEFAULT true
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
  _stream_version bigint;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock({{SCHEMA_NAME}}.hash_64(
    '{{SCHEMA_NAME}}:' || {{SCHEMA_NAME}}.category(write_messages.stream_name)));

  IF write_messages.check_ids THEN
    RETURN QUERY
      SELECT m.id, m.stream_name::varchar, m.type::varchar, m.position, m.global_position, false
      FROM {{SCHEMA_NAME}}.messages m
      WHERE m.id = ANY (write_messages.ids)
      ORDER BY m.global_position;
    IF FOUND THEN
      RETURN;
    END IF;
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

  IF pg_catalog.cardinality(write_messages.ids) = 1 THEN
    RETURN QUERY
      INSERT INTO {{SCHEMA_NAME}}.messages AS m
        (id, stream_name, position, type, data, metadata)
      VALUES (write_messages.ids[1], write_messages.stream_name, _stream_version + 1,
        write_messages.types[1], write_messages.data[1], write_messages.metadata[1])
      RETURNING m.id, m.stream_name::varchar, m.type::varchar, m.position, m.global_position, true;
    RETURN;
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
