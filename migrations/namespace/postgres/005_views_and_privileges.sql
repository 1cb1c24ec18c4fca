-- Message DB's six report views, and what a role that may only use the
-- namespace needs beyond Message DB's privileges to import messages.
--
-- The views have Message DB's names, columns, types (text, or varchar for a
-- category, bigint counts, numeric percentages) and rows: per stream, type,
-- stream and type, category and type, the number of messages and its share
-- of the namespace's messages in percent, rounded to two decimals, ordered
-- by their first columns.

CREATE VIEW {{SCHEMA_NAME}}.stream_summary AS
  WITH
    counts AS (
      SELECT m.stream_name, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY m.stream_name
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.stream_name,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.stream_name;

CREATE VIEW {{SCHEMA_NAME}}.type_summary AS
  WITH
    counts AS (
      SELECT m.type, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY m.type
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.type,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.type;

CREATE VIEW {{SCHEMA_NAME}}.stream_type_summary AS
  WITH
    counts AS (
      SELECT m.stream_name, m.type, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY m.stream_name, m.type
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.stream_name,
    c.type,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.stream_name, c.type;

CREATE VIEW {{SCHEMA_NAME}}.type_stream_summary AS
  WITH
    counts AS (
      SELECT m.type, m.stream_name, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY m.type, m.stream_name
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.type,
    c.stream_name,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.type, c.stream_name;

CREATE VIEW {{SCHEMA_NAME}}.category_type_summary AS
  WITH
    counts AS (
      SELECT {{SCHEMA_NAME}}.category(m.stream_name) AS category, m.type, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY 1, 2
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.category,
    c.type,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.category, c.type;

CREATE VIEW {{SCHEMA_NAME}}.type_category_summary AS
  WITH
    counts AS (
      SELECT m.type, {{SCHEMA_NAME}}.category(m.stream_name) AS category, count(m.id) AS message_count
      FROM {{SCHEMA_NAME}}.messages m
      GROUP BY 1, 2
    ),
    total AS (
      SELECT count(m.id)::numeric AS total_count
      FROM {{SCHEMA_NAME}}.messages m
    )
  SELECT
    c.type,
    c.category,
    c.message_count,
    pg_catalog.round(c.message_count / t.total_count * 100, 2) AS percent
  FROM counts c, total t
  ORDER BY c.type, c.category;

-- An import (ports.Importer) keeps the global positions it is given: it
-- holds the table against writers (EXCLUSIVE mode), checks that its
-- positions are above those stored, and then moves the sequence past them.
-- Locking a table in that mode and setting a sequence take more than an
-- application's privileges (UPDATE), so these two functions do exactly that
-- with their owner's. The lock lasts until the caller's transaction ends;
-- the sequence only ever moves forward, as nextval would.

CREATE FUNCTION {{SCHEMA_NAME}}.import_lock()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  LOCK TABLE {{SCHEMA_NAME}}.messages IN EXCLUSIVE MODE;
  RETURN (SELECT COALESCE(max(m.global_position), 0) FROM {{SCHEMA_NAME}}.messages m);
END;
$$;

CREATE FUNCTION {{SCHEMA_NAME}}.import_advance(global_position bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.setval('{{SCHEMA_NAME}}.messages_global_position_seq', import_advance.global_position)
  FROM {{SCHEMA_NAME}}.messages_global_position_seq s
  WHERE import_advance.global_position >= s.last_value + CASE WHEN s.is_called THEN 1 ELSE 0 END;
END;
$$;

REVOKE EXECUTE ON FUNCTION {{SCHEMA_NAME}}.import_lock() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION {{SCHEMA_NAME}}.import_advance(bigint) FROM PUBLIC;

-- Roles that may already read messages may read the reports; those that
-- may insert messages may import them.
DO $$
DECLARE
  _grant record;
  _role text;
BEGIN
  FOR _grant IN
    SELECT DISTINCT a.grantee, a.privilege_type
    FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
    WHERE c.oid = '{{SCHEMA_NAME}}.messages'::regclass AND a.grantee <> c.relowner
      AND a.privilege_type IN ('SELECT', 'INSERT')
  LOOP
    _role := CASE WHEN _grant.grantee = 0 THEN 'PUBLIC' ELSE _grant.grantee::regrole::text END;
    IF _grant.privilege_type = 'SELECT' THEN
      EXECUTE pg_catalog.format('GRANT SELECT ON {{SCHEMA_NAME}}.stream_summary, {{SCHEMA_NAME}}.type_summary, '
        '{{SCHEMA_NAME}}.stream_type_summary, {{SCHEMA_NAME}}.type_stream_summary, '
        '{{SCHEMA_NAME}}.category_type_summary, {{SCHEMA_NAME}}.type_category_summary TO %s', _role);
    ELSE
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION {{SCHEMA_NAME}}.import_lock(), '
        '{{SCHEMA_NAME}}.import_advance(bigint) TO %s', _role);
    END IF;
  END LOOP;
END;
$$;
