-- The registry of namespaces of a SQLite store, in its registry database
-- (registry.db in the data directory, or an in-memory database). Each
-- namespace's messages live in a database of their own: the file
-- namespaces/<id>.db, or an in-memory database.
CREATE TABLE namespaces (
  id          TEXT PRIMARY KEY NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  token_hash  TEXT NOT NULL DEFAULT '',
  -- UTC, microseconds: 2006-01-02T15:04:05.000000Z
  created_at  TEXT NOT NULL
) STRICT;
