-- messagedb:no-transaction
--
-- Message DB's messages table, column for column: SELECT * returns
-- global_position, position, time, stream_name, type, data, metadata, id
-- (Message DB 1.3.0's order, since its 1.2.4), with Message DB's types, and
-- nothing else, so that whatever maps the table's columns by position
-- (SELECT *, COPY without a column list, INSERT INTO ... SELECT * between a
-- namespace and a Message DB database) works unchanged.
--
-- The consumer-group hash is no longer a column: it is the last key of the
-- category index, as the expression group_hash(stream_name), whose value the
-- index stores. A consumer group's read scans that index only (stream_name
-- is included, so that every column the read uses is there), and
-- PostgreSQL replaces group_hash(stream_name) in the read by the stored
-- value: no MD5 is computed per message read, as before, and no column of
-- the table is spent on it.
--
-- The table is made again rather than altered: dropping the column would
-- leave it in the catalog and in every stored row, and the new index could
-- only be built without blocking writers by CREATE INDEX CONCURRENTLY, which
-- cannot run in the transaction that creates a namespace. This file runs step
-- by step, each step committing on its own (see internal/migrate), so that a
-- namespace holding millions of messages goes on taking reads and writes
-- while its table is copied:
--
--   1. a new table, messages_rebuild, as Message DB's;
--   2. a short lock (SHARE: writers wait for it, readers do not) marks the
--      global position up to which every message is committed;
--   3. the messages up to that mark are copied, then indexed (writers go on);
--   4. the same again for the messages written meanwhile;
--   5. in one short transaction holding the table (ACCESS EXCLUSIVE), the
--      last messages are copied and the new table takes the old one's place,
--      name, indexes, sequence and privileges.
--
-- A lock is waited for at most half a second at a time, again and again for
-- a minute, so that readers and writers queued behind it are never held
-- longer than that by one attempt. A run that fails leaves the namespace as
-- it was (and at most a messages_rebuild table, which the next run drops), so
-- the file runs again from the start.
--
-- Why it is safe: a write draws its global position while holding a lock on
-- the table (ROW EXCLUSIVE, from its INSERT) that the mark's SHARE lock
-- waits for, so every position up to the mark belongs to a committed
-- message, or to none, once the mark is taken. An import holds the table in
-- EXCLUSIVE mode and only adds positions above those stored. So every message
-- missing from the copy is above the highest one copied, which is what each
-- catch-up copies.
--
-- Objects of other owners that depend on the messages table (a view made by
-- hand) make the swap fail: drop them first, and make them again after.

DROP TABLE IF EXISTS {{SCHEMA_NAME}}.messages_rebuild;
DROP TABLE IF EXISTS {{SCHEMA_NAME}}.messages_rebuild_mark;

CREATE TABLE {{SCHEMA_NAME}}.messages_rebuild (
  global_position bigint NOT NULL DEFAULT nextval('{{SCHEMA_NAME}}.messages_global_position_seq'::regclass),
  position bigint NOT NULL,
  time timestamp without time zone NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
  stream_name text NOT NULL,
  type text NOT NULL,
  data jsonb,
  metadata jsonb,
  id uuid NOT NULL DEFAULT gen_random_uuid()
);

-- The mark of step 2 (one row), kept apart from the copy.
CREATE TABLE {{SCHEMA_NAME}}.messages_rebuild_mark (global_position bigint NOT NULL);

-- messagedb:commit

-- 2. The mark: the last global position drawn, once no writer is under way.
DO $$
DECLARE
  _attempts int := 0;
BEGIN
  LOOP
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
      LOCK TABLE {{SCHEMA_NAME}}.messages IN SHARE MODE;
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      _attempts := _attempts + 1;
      IF _attempts >= 100 THEN
        RAISE;
      END IF;
      PERFORM pg_catalog.pg_sleep(0.1);
    END;
  END LOOP;
  INSERT INTO {{SCHEMA_NAME}}.messages_rebuild_mark (global_position)
  SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END
  FROM {{SCHEMA_NAME}}.messages_global_position_seq s;
END;
$$;

-- messagedb:commit

-- 3. The copy up to the mark, in global position order, then its indexes:
-- Message DB's, with the group hash in the category index.
INSERT INTO {{SCHEMA_NAME}}.messages_rebuild
  (global_position, position, time, stream_name, type, data, metadata, id)
SELECT m.global_position, m.position, m.time, m.stream_name, m.type, m.data, m.metadata, m.id
FROM {{SCHEMA_NAME}}.messages m
WHERE m.global_position <= (SELECT k.global_position FROM {{SCHEMA_NAME}}.messages_rebuild_mark k)
ORDER BY m.global_position;

-- messagedb:commit

ALTER TABLE {{SCHEMA_NAME}}.messages_rebuild
  ADD CONSTRAINT messages_rebuild_pkey PRIMARY KEY (global_position);

CREATE UNIQUE INDEX messages_rebuild_id ON {{SCHEMA_NAME}}.messages_rebuild (id);

CREATE UNIQUE INDEX messages_rebuild_stream ON {{SCHEMA_NAME}}.messages_rebuild (stream_name, position);

-- Message DB's category index. A consumer group's read evaluates its
-- member's filter (group_hash % size = member) on the entries, by an
-- index-only scan in global position order, reading neither the rows of the
-- other members' streams nor computing a hash. group_hash is a key because
-- an expression cannot be an included column; after the global position,
-- it changes no order.
CREATE INDEX messages_rebuild_category ON {{SCHEMA_NAME}}.messages_rebuild (
  {{SCHEMA_NAME}}.category(stream_name),
  global_position,
  {{SCHEMA_NAME}}.category(metadata->>'correlationStreamName'),
  {{SCHEMA_NAME}}.group_hash(stream_name)
) INCLUDE (stream_name);

-- messagedb:commit

-- 4. Again for the messages written meanwhile: a new mark, then the copy
-- of what is above the highest position copied, up to it.
DO $$
DECLARE
  _attempts int := 0;
BEGIN
  LOOP
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
      LOCK TABLE {{SCHEMA_NAME}}.messages IN SHARE MODE;
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      _attempts := _attempts + 1;
      IF _attempts >= 100 THEN
        RAISE;
      END IF;
      PERFORM pg_catalog.pg_sleep(0.1);
    END;
  END LOOP;
  UPDATE {{SCHEMA_NAME}}.messages_rebuild_mark
  SET global_position = (
    SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END
    FROM {{SCHEMA_NAME}}.messages_global_position_seq s);
END;
$$;

-- messagedb:commit

INSERT INTO {{SCHEMA_NAME}}.messages_rebuild
  (global_position, position, time, stream_name, type, data, metadata, id)
SELECT m.global_position, m.position, m.time, m.stream_name, m.type, m.data, m.metadata, m.id
FROM {{SCHEMA_NAME}}.messages m
WHERE m.global_position > (SELECT COALESCE(max(r.global_position), 0) FROM {{SCHEMA_NAME}}.messages_rebuild r)
  AND m.global_position <= (SELECT k.global_position FROM {{SCHEMA_NAME}}.messages_rebuild_mark k)
ORDER BY m.global_position;

-- Statistics for the planner, unless the table is empty: an empty table
-- analyzed is planned as empty (by sequential scans, in the plans that
-- sessions keep) until it is analyzed again, where a table never analyzed
-- is planned with its indexes.
DO $$
BEGIN
  IF EXISTS (SELECT FROM {{SCHEMA_NAME}}.messages_rebuild) THEN
    ANALYZE {{SCHEMA_NAME}}.messages_rebuild;
  END IF;
END;
$$;

-- messagedb:commit

-- 5. The swap, in one transaction.
DO $$
DECLARE
  _attempts int := 0;
  _grant record;
BEGIN
  LOOP
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
      LOCK TABLE {{SCHEMA_NAME}}.messages IN ACCESS EXCLUSIVE MODE;
      EXIT;
    EXCEPTION WHEN lock_not_available THEN
      _attempts := _attempts + 1;
      IF _attempts >= 100 THEN
        RAISE;
      END IF;
      PERFORM pg_catalog.pg_sleep(0.1);
    END;
  END LOOP;

  INSERT INTO {{SCHEMA_NAME}}.messages_rebuild
    (global_position, position, time, stream_name, type, data, metadata, id)
  SELECT m.global_position, m.position, m.time, m.stream_name, m.type, m.data, m.metadata, m.id
  FROM {{SCHEMA_NAME}}.messages m
  WHERE m.global_position > (SELECT COALESCE(max(r.global_position), 0) FROM {{SCHEMA_NAME}}.messages_rebuild r)
  ORDER BY m.global_position;

  -- Privileges granted on the table (by hand, or to roles a namespace was
  -- created for) pass to the new one.
  FOR _grant IN
    SELECT a.grantee, a.privilege_type, a.is_grantable
    FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
    WHERE c.oid = '{{SCHEMA_NAME}}.messages'::regclass AND a.grantee <> c.relowner
  LOOP
    EXECUTE pg_catalog.format('GRANT %s ON {{SCHEMA_NAME}}.messages_rebuild TO %s%s',
      _grant.privilege_type,
      CASE WHEN _grant.grantee = 0 THEN 'PUBLIC' ELSE _grant.grantee::regrole::text END,
      CASE WHEN _grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END;
$$;

ALTER SEQUENCE {{SCHEMA_NAME}}.messages_global_position_seq
  OWNED BY {{SCHEMA_NAME}}.messages_rebuild.global_position;

DROP TABLE {{SCHEMA_NAME}}.messages;

DROP TABLE {{SCHEMA_NAME}}.messages_rebuild_mark;

ALTER TABLE {{SCHEMA_NAME}}.messages_rebuild RENAME TO messages;
ALTER INDEX {{SCHEMA_NAME}}.messages_rebuild_pkey RENAME TO messages_pkey;
ALTER INDEX {{SCHEMA_NAME}}.messages_rebuild_id RENAME TO messages_id;
ALTER INDEX {{SCHEMA_NAME}}.messages_rebuild_stream RENAME TO messages_stream;
ALTER INDEX {{SCHEMA_NAME}}.messages_rebuild_category RENAME TO messages_category;

-- As in 001, with the group hash computed by group_hash(stream_name), which
-- a consumer group's read takes from the category index.

CREATE OR REPLACE FUNCTION {{SCHEMA_NAME}}.get_category_messages(
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
        ($5 IS NULL OR {{SCHEMA_NAME}}.group_hash(stream_name) %% $6 = $5) AND
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
      -- The member's global positions from the category index, then their
      -- rows.
      RETURN QUERY
        SELECT m.id::varchar, m.stream_name::varchar, m.type::varchar, m.position::bigint,
          m.global_position::bigint, m.data::varchar, m.metadata::varchar, m.time::timestamp
        FROM (
          SELECT g.global_position
          FROM {{SCHEMA_NAME}}.messages g
          WHERE
            ({{SCHEMA_NAME}}.category(g.stream_name), g.global_position) >= (get_category_messages.category, get_category_messages.position) AND
            ({{SCHEMA_NAME}}.category(g.stream_name), g.global_position) <= (get_category_messages.category, 9223372036854775807) AND
            COALESCE({{SCHEMA_NAME}}.group_hash(g.stream_name) % get_category_messages.consumer_group_size = get_category_messages.consumer_group_member, false)
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
          COALESCE({{SCHEMA_NAME}}.group_hash(m.stream_name) % get_category_messages.consumer_group_size = get_category_messages.consumer_group_member, false)
        ORDER BY {{SCHEMA_NAME}}.category(m.stream_name), m.global_position
        LIMIT _limit;
    END IF;
  END IF;
END;
$$;
