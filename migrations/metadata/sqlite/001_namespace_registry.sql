-- The registry of namespaces of a SQLite store. Each namespace's messages
-- live in a database file of their own (or an in-memory database).
CREATE TABLE namespaces (
  id          TEXT PRIMARY KEY NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  token_hash  TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL
) STRICT;
