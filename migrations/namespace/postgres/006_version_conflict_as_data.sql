-- write_messages reports a wrong expected version as data rather than as
-- an exception: the Go adapter reads the stream's version from the result,
-- where it used to parse Message DB's exception text. write_message, the
-- function of Message DB's SQL API, is unchanged: a SQL client still gets
-- Message DB's exception, its text and SQLSTATE (P0001).
--
-- A wrong expected version writes nothing and returns one row without id
-- (out_id NULL): out_stream_name is the stream, out_position its version
-- (-1 when it has no message), out_written false. Everything else is as in
-- 003: the signature, the result's columns, the category lock, the lookup of
-- ids, the single-row insert of a batch of one; CREATE OR REPLACE keeps the
-- function's owner and the EXECUTE privileges granted on it.

CREATE OR REPLACE FUNCTION {{SCHEMA_NAME}}.write_messages(
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
    out_id := NULL;
    out_stream_name := write_messages.stream_name;
    out_type := NULL;
    out_position := _stream_version;
    out_global_position := NULL;
    out_written := false;
    RETURN NEXT;
    RETURN;
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
