-- The registry of namespaces of a PostgreSQL store, in the metadata schema.
-- Each namespace's messages live in a schema of their own.
CREATE TABLE {{SCHEMA_NAME}}.namespaces (
  id          text PRIMARY KEY,
  schema_name text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  token_hash  text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
