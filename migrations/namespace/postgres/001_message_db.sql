-- One namespace's message store on PostgreSQL: Message DB 1.3.0's messages
-- table, indexes and server functions, in the schema {{SCHEMA_NAME}}.
--
-- Signatures, defaults and exception texts are Message DB's, so that an
-- existing Message DB client can use the namespace by calling the
-- schema-qualified functions ({{SCHEMA_NAME}}.write_message(...)). Unlike
-- Message DB's own install:
--   * every object is referenced schema-qualified: nothing depends on the
--     caller's search_path;
--   * reads are static SQL (Message DB builds and EXECUTEs a query string
--     on every call); the raw SQL condition argument still works, as in
--     Message DB, when message_store.sql_condition is on;
--   * the consumer-group hash of each message's cardinal id is stored
--     (group_hash) and included in the category index, instead of being
--     computed with MD5 for every row of the category on every group read;
--   * the category write lock is keyed by schema and category, so writers
--     in different namespaces never wait on each other;
--   * write_message notifies the category's channel (see notify_channel),
--     so that listeners wake up on writes made through SQL too.

CREATE TYPE {{SCHEMA_NAME}}.message AS (
  id varchar,
  stream_name varchar,
  type varchar,
  position bigint,
  global_position bigint,
  data varchar,
  metadata varchar,
  time timestamp
);

-- Stream name functions. They are SQL functions so that the planner can
-- inline them; they only call built-ins and each other, schema-qualified.

CREATE FUNCTION {{SCHEMA_NAME}}.category(stream_name varchar)
RETURNS varchar
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.split_part($1, '-', 1)::varchar
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.id(stream_name varchar)
RETURNS varchar
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN pg_catalog.strpos($1, '-') = 0 THEN NULL
    ELSE pg_catalog.substr($1, pg_catalog.strpos($1, '-') + 1)::varchar
  END
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.cardinal_id(stream_name varchar)
RETURNS varchar
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT pg_catalog.split_part({{SCHEMA_NAME}}.id($1), '+', 1)::varchar
$$;

-- As in Message DB, a NULL name counts as a category.
CREATE FUNCTION {{SCHEMA_NAME}}.is_category(stream_name varchar)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT NOT COALESCE(pg_catalog.strpos($1, '-') > 0, false)
$$;

-- The first 8 bytes of the MD5 digest as a big-endian signed bigint.
CREATE FUNCTION {{SCHEMA_NAME}}.hash_64(value varchar)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ('x' || pg_catalog.left(pg_catalog.md5($1), 16))::bit(64)::bigint
$$;

-- abs(hash_64(cardinal_id(stream_name))): the value consumer groups
-- partition by (member = group_hash % size). NULL when the name has no id.
-- The one hash whose absolute value is not a bigint, -2^63, stays as it is
-- (so it belongs to member 0 at most), where Message DB's @ operator would
-- fail: the absolute value is wrapped to 64 bits. A single expression, so
-- that it is inlined where it is evaluated (the group_hash column).
CREATE FUNCTION {{SCHEMA_NAME}}.group_hash(stream_name varchar)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ((pg_catalog.abs({{SCHEMA_NAME}}.hash_64({{SCHEMA_NAME}}.cardinal_id($1))::numeric)
    + 9223372036854775808) % 18446744073709551616 - 9223372036854775808)::bigint
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.message_store_version()
RETURNS varchar
LANGUAGE sql IMMUTABLE
AS $$
  SELECT '1.3.0'::varchar
$$;

-- The LISTEN/NOTIFY channel of a category of this namespace: an identifier
-- of at most 63 bytes whatever the names (adapters/postgres.NotifyChannel
-- computes the same).
CREATE FUNCTION {{SCHEMA_NAME}}.notify_channel(category varchar)
RETURNS varchar
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ('mdb_' || pg_catalog.left(pg_catalog.md5('{{SCHEMA_NAME}}:' || $1), 24))::varchar
$$;

CREATE TABLE {{SCHEMA_NAME}}.messages (
  global_position bigserial NOT NULL,
  position bigint NOT NULL,
  time timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,
  stream_name text NOT NULL,
  type text NOT NULL,
  data jsonb,
  metadata jsonb,
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  group_hash bigint GENERATED ALWAYS AS ({{SCHEMA_NAME}}.group_hash(stream_name)) STORED,
  PRIMARY KEY (global_position)
);

CREATE UNIQUE INDEX messages_id ON {{SCHEMA_NAME}}.messages (id);

CREATE UNIQUE INDEX messages_stream ON {{SCHEMA_NAME}}.messages (stream_name, position);

-- Message DB's category index, with two columns included: a consumer
-- group's read evaluates the member's filter (group_hash % size = member)
-- on the index entries, in global position order, by an index-only scan,
-- without reading the rows of the other members' streams (stream_name is
-- there so that category(stream_name) can be computed from the entry).
-- Including them here rather than in an index of their own keeps writes at
-- Message DB's four index insertions.
CREATE INDEX messages_category ON {{SCHEMA_NAME}}.messages (
  {{SCHEMA_NAME}}.category(stream_name),
  global_position,
  {{SCHEMA_NAME}}.category(metadata->>'correlationStreamName')
) INCLUDE (stream_name, group_hash);

-- Takes the category's write lock until the end of the transaction. Every
-- write takes it before drawing its global position, so writes to one
-- category commit in global position order and a reader paging by global
-- position never skips a message that commits late. The key includes the
-- schema: namespaces never wait on each other.
CREATE FUNCTION {{SCHEMA_NAME}}.acquire_lock(stream_name varchar)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  _category varchar;
  _lock_key bigint;
BEGIN
  _category := {{SCHEMA_NAME}}.category(acquire_lock.stream_name);
  _lock_key := {{SCHEMA_NAME}}.hash_64('{{SCHEMA_NAME}}:' || _category);
  PERFORM pg_catalog.pg_advisory_xact_lock(_lock_key);

  IF current_setting('message_store.debug_write', true) = 'on' OR current_setting('message_store.debug', true) = 'on' THEN
    RAISE NOTICE '» acquire_lock';
    RAISE NOTICE 'stream_name: %', acquire_lock.stream_name;
    RAISE NOTICE '_category: %', _category;
    RAISE NOTICE '_lock_key: %', _lock_key;
  END IF;

  RETURN _lock_key;
END;
$$;

-- PL/pgSQL rather than SQL: its query plan is cached for the session (a SQL
-- function that cannot be inlined is planned again on every call).
CREATE FUNCTION {{SCHEMA_NAME}}.stream_version(stream_name varchar)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  _stream_version bigint;
BEGIN
  SELECT max(m.position) INTO _stream_version
  FROM {{SCHEMA_NAME}}.messages m
  WHERE m.stream_name = stream_version.stream_name;

  RETURN _stream_version;
END;
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.write_message(
  id varchar,
  stream_name varchar,
  "type" varchar,
  data jsonb,
  metadata jsonb DEFAULT NULL,
  expected_version bigint DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
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

  PERFORM pg_catalog.pg_notify(
    {{SCHEMA_NAME}}.notify_channel({{SCHEMA_NAME}}.category(write_message.stream_name)), '');

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

-- Writes a batch to one stream, all or nothing, for the Go adapter: one
-- round trip, the expected version checked once. If any of the ids is
-- already stored, nothing is written and the stored messages with those ids
-- are returned (written = false): the caller decides whether the call is an
-- idempotent retry. The lookup follows the category lock, so a retry racing
-- with its first attempt in the same category sees it.
CREATE FUNCTION {{SCHEMA_NAME}}.write_messages(
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
AS $$
DECLARE
  _stream_version bigint;
BEGIN
  PERFORM {{SCHEMA_NAME}}.acquire_lock(write_messages.stream_name);

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

  PERFORM pg_catalog.pg_notify(
    {{SCHEMA_NAME}}.notify_channel({{SCHEMA_NAME}}.category(write_messages.stream_name)), '');
END;
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.get_stream_messages(
  stream_name varchar,
  "position" bigint DEFAULT 0,
  batch_size bigint DEFAULT 1000,
  condition varchar DEFAULT NULL
)
RETURNS SETOF {{SCHEMA_NAME}}.message
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  _command text;
BEGIN
  IF {{SCHEMA_NAME}}.is_category(get_stream_messages.stream_name) THEN
    RAISE EXCEPTION
      'Must be a stream name: %',
      get_stream_messages.stream_name;
  END IF;

  position := COALESCE(position, 0);
  batch_size := COALESCE(batch_size, 1000);

  IF current_setting('message_store.debug_get', true) = 'on' OR current_setting('message_store.debug', true) = 'on' THEN
    RAISE NOTICE '» get_stream_messages';
    RAISE NOTICE 'stream_name ($1): %', get_stream_messages.stream_name;
    RAISE NOTICE 'position ($2): %', get_stream_messages.position;
    RAISE NOTICE 'batch_size ($3): %', get_stream_messages.batch_size;
    RAISE NOTICE 'condition ($4): %', get_stream_messages.condition;
  END IF;

  IF get_stream_messages.condition IS NULL THEN
    RETURN QUERY
      SELECT
        m.id::varchar,
        m.stream_name::varchar,
        m.type::varchar,
        m.position::bigint,
        m.global_position::bigint,
        m.data::varchar,
        m.metadata::varchar,
        m.time::timestamp
      FROM {{SCHEMA_NAME}}.messages m
      WHERE
        m.stream_name = get_stream_messages.stream_name AND
        m.position >= get_stream_messages.position
      ORDER BY m.position ASC
      LIMIT CASE WHEN get_stream_messages.batch_size = -1 THEN NULL ELSE get_stream_messages.batch_size END;
    RETURN;
  END IF;

  -- Message DB's raw SQL condition, only when the setting allows it.
  IF current_setting('message_store.sql_condition', true) IS NULL OR
      current_setting('message_store.sql_condition', true) = 'off' THEN
    RAISE EXCEPTION
      'Retrieval with SQL condition is not activated';
  END IF;

  _command := format('
    SELECT
      id::varchar,
      stream_name::varchar,
      type::varchar,
      position::bigint,
      global_position::bigint,
      data::varchar,
      metadata::varchar,
      time::timestamp
    FROM
      {{SCHEMA_NAME}}.messages
    WHERE
      stream_name = $1 AND
      position >= $2 AND
      (%s)
    ORDER BY
      position ASC
    LIMIT
      CASE WHEN $3 = -1 THEN NULL ELSE $3 END', get_stream_messages.condition);

  RETURN QUERY EXECUTE _command USING
    get_stream_messages.stream_name,
    get_stream_messages.position,
    get_stream_messages.batch_size;
END;
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.get_category_messages(
  category varchar,
  "position" bigint DEFAULT 1,
  batch_size bigint DEFAULT 1000,
  correlation varchar DEFAULT NULL,
  consumer_group_member bigint DEFAULT NULL,
  consumer_group_size bigint DEFAULT NULL,
  condition varchar DEFAULT NULL
)
RETURNS SETOF {{SCHEMA_NAME}}.message
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  _command text;
  _limit bigint;
BEGIN
  IF NOT {{SCHEMA_NAME}}.is_category(get_category_messages.category) THEN
    RAISE EXCEPTION
      'Must be a category: %',
      get_category_messages.category;
  END IF;

  position := COALESCE(position, 1);
  batch_size := COALESCE(batch_size, 1000);

  IF get_category_messages.correlation IS NOT NULL THEN
    IF pg_catalog.strpos(get_category_messages.correlation, '-') > 0 THEN
      RAISE EXCEPTION
        'Correlation must be a category (Correlation: %)',
        get_category_messages.correlation;
    END IF;
  END IF;

  IF (get_category_messages.consumer_group_member IS NOT NULL AND
      get_category_messages.consumer_group_size IS NULL) OR
      (get_category_messages.consumer_group_member IS NULL AND
      get_category_messages.consumer_group_size IS NOT NULL) THEN

    RAISE EXCEPTION
      'Consumer group member and size must be specified (Consumer Group Member: %, Consumer Group Size: %)',
      get_category_messages.consumer_group_member,
      get_category_messages.consumer_group_size;
  END IF;

  IF get_category_messages.consumer_group_member IS NOT NULL AND
      get_category_messages.consumer_group_size IS NOT NULL THEN

    IF get_category_messages.consumer_group_size < 1 THEN
      RAISE EXCEPTION
        'Consumer group size must not be less than 1 (Consumer Group Member: %, Consumer Group Size: %)',
        get_category_messages.consumer_group_member,
        get_category_messages.consumer_group_size;
    END IF;

    IF get_category_messages.consumer_group_member < 0 THEN
      RAISE EXCEPTION
        'Consumer group member must not be less than 0 (Consumer Group Member: %, Consumer Group Size: %)',
        get_category_messages.consumer_group_member,
        get_category_messages.consumer_group_size;
    END IF;

    IF get_category_messages.consumer_group_member >= get_category_messages.consumer_group_size THEN
      RAISE EXCEPTION
        'Consumer group member must be less than the group size (Consumer Group Member: %, Consumer Group Size: %)',
        get_category_messages.consumer_group_member,
        get_category_messages.consumer_group_size;
    END IF;
  END IF;

  IF current_setting('message_store.debug_get', true) = 'on' OR current_setting('message_store.debug', true) = 'on' THEN
    RAISE NOTICE '» get_category_messages';
    RAISE NOTICE 'category ($1): %', get_category_messages.category;
    RAISE NOTICE 'position ($2): %', get_category_messages.position;
    RAISE NOTICE 'batch_size ($3): %', get_category_messages.batch_size;
    RAISE NOTICE 'correlation ($4): %', get_category_messages.correlation;
    RAISE NOTICE 'consumer_group_member ($5): %', get_category_messages.consumer_group_member;
    RAISE NOTICE 'consumer_group_size ($6): %', get_category_messages.consumer_group_size;
    RAISE NOTICE 'condition: %', get_category_messages.condition;
  END IF;

  IF get_category_messages.batch_size != -1 THEN
    _limit := get_category_messages.batch_size;
  END IF;

  IF get_category_messages.condition IS NOT NULL THEN
    -- Message DB's raw SQL condition, only when the setting allows it.
    IF current_setting('message_store.sql_condition', true) IS NULL OR
        current_setting('message_store.sql_condition', true) = 'off' THEN
      RAISE EXCEPTION
        'Retrieval with SQL condition is not activated';
    END IF;

    _command := format('
      SELECT
        id::varchar,
        stream_name::varchar,
        type::varchar,
        position::bigint,
        global_position::bigint,
        data::varchar,
        metadata::varchar,
        time::timestamp
      FROM
        {{SCHEMA_NAME}}.messages
      WHERE
        {{SCHEMA_NAME}}.category(stream_name) = $1 AND
        global_position >= $2 AND
        ($4 IS NULL OR {{SCHEMA_NAME}}.category(metadata->>''correlationStreamName'') = $4) AND
        ($5 IS NULL OR group_hash %% $6 = $5) AND
        (%s)
      ORDER BY
        global_position ASC
      LIMIT
        $3', get_category_messages.condition);

    RETURN QUERY EXECUTE _command USING
      get_category_messages.category,
      get_category_messages.position,
      _limit,
      get_category_messages.correlation,
      get_category_messages.consumer_group_member,
      get_category_messages.consumer_group_size;
    RETURN;
  END IF;

  -- Static queries, one per combination of filters. Category reads bound
  -- (category, global_position) between two rows and order by both instead
  -- of writing "category = $1 ORDER BY global_position": then only the
  -- category indexes give the order, and the planner cannot prefer walking
  -- the primary key and filtering out other categories' messages, which is
  -- slow for a category whose messages are far from the start. The group
  -- filter is wrapped in COALESCE so that it is estimated to keep half the
  -- rows (an unknown equality is estimated at 0.5%, which makes the planner
  -- read the whole category and sort it).
  IF get_category_messages.consumer_group_member IS NULL THEN
    IF get_category_messages.correlation IS NULL THEN
      RETURN QUERY
        SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
          m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
        FROM {{SCHEMA_NAME}}.messages m
        WHERE
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) >= (get_category_messages.category, get_category_messages.position) AND
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) <= (get_category_messages.category, 9223372036854775807)
        ORDER BY {{SCHEMA_NAME}}.category(m.stream_name), m.global_position
        LIMIT _limit;
    ELSE
      RETURN QUERY
        SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
          m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
        FROM {{SCHEMA_NAME}}.messages m
        WHERE
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) >= (get_category_messages.category, get_category_messages.position) AND
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) <= (get_category_messages.category, 9223372036854775807) AND
          {{SCHEMA_NAME}}.category(m.metadata->>'correlationStreamName') = get_category_messages.correlation
        ORDER BY {{SCHEMA_NAME}}.category(m.stream_name), m.global_position
        LIMIT _limit;
    END IF;
  ELSE
    IF get_category_messages.correlation IS NULL THEN
      -- The member's global positions from the group index, then their rows.
      RETURN QUERY
        SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
          m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
        FROM (
          SELECT g.global_position
          FROM {{SCHEMA_NAME}}.messages g
          WHERE
            ({{SCHEMA_NAME}}.category(g.stream_name), g.global_position) >= (get_category_messages.category, get_category_messages.position) AND
            ({{SCHEMA_NAME}}.category(g.stream_name), g.global_position) <= (get_category_messages.category, 9223372036854775807) AND
            COALESCE(g.group_hash % get_category_messages.consumer_group_size = get_category_messages.consumer_group_member, false)
          ORDER BY {{SCHEMA_NAME}}.category(g.stream_name), g.global_position
          LIMIT _limit
        ) AS p
        JOIN {{SCHEMA_NAME}}.messages m ON m.global_position = p.global_position
        ORDER BY m.global_position;
    ELSE
      RETURN QUERY
        SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
          m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
        FROM {{SCHEMA_NAME}}.messages m
        WHERE
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) >= (get_category_messages.category, get_category_messages.position) AND
          ({{SCHEMA_NAME}}.category(m.stream_name), m.global_position) <= (get_category_messages.category, 9223372036854775807) AND
          {{SCHEMA_NAME}}.category(m.metadata->>'correlationStreamName') = get_category_messages.correlation AND
          COALESCE(m.group_hash % get_category_messages.consumer_group_size = get_category_messages.consumer_group_member, false)
        ORDER BY {{SCHEMA_NAME}}.category(m.stream_name), m.global_position
        LIMIT _limit;
    END IF;
  END IF;
END;
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.get_last_stream_message(
  stream_name varchar,
  "type" varchar DEFAULT NULL
)
RETURNS SETOF {{SCHEMA_NAME}}.message
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  IF current_setting('message_store.debug_get', true) = 'on' OR current_setting('message_store.debug', true) = 'on' THEN
    RAISE NOTICE '» get_last_message';
    RAISE NOTICE 'stream_name ($1): %', get_last_stream_message.stream_name;
    RAISE NOTICE 'type ($2): %', get_last_stream_message.type;
  END IF;

  IF get_last_stream_message.type IS NULL THEN
    RETURN QUERY
      SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
        m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
      FROM {{SCHEMA_NAME}}.messages m
      WHERE m.stream_name = get_last_stream_message.stream_name
      ORDER BY m.position DESC
      LIMIT 1;
  ELSE
    RETURN QUERY
      SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
        m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
      FROM {{SCHEMA_NAME}}.messages m
      WHERE m.stream_name = get_last_stream_message.stream_name AND
        m.type = get_last_stream_message.type
      ORDER BY m.position DESC
      LIMIT 1;
  END IF;
END;
$$;
