-- One namespace's message store on PostgreSQL: Message DB 1.3.0's messages
-- table and functions in the schema {{SCHEMA_NAME}}.
CREATE TABLE {{SCHEMA_NAME}}.messages (
  global_position bigserial NOT NULL,
  position bigint NOT NULL,
  time TIMESTAMP WITHOUT TIME ZONE DEFAULT (now() AT TIME ZONE 'utc') NOT NULL,
  stream_name text NOT NULL,
  type text NOT NULL,
  data jsonb,
  metadata jsonb,
  id uuid NOT NULL,
  PRIMARY KEY (global_position)
);
