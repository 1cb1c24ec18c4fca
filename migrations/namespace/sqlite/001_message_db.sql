-- One namespace's message store on SQLite: Message DB's messages table. The
-- rules (positions, version checks, stream names) are applied in Go; what
-- Message DB computes in SQL at read time is computed once, at write time,
-- and stored:
--   category             Message DB's category(stream_name);
--   group_hash           abs(hash_64(cardinal_id(stream_name))), NULL when
--                        the stream name has no id (see domain.GroupHash);
--   correlation_category category(metadata->>'correlationStreamName'), NULL
--                        when there is none.
-- AUTOINCREMENT keeps global positions increasing and never reused, also
-- after messages are imported with explicit global positions.
CREATE TABLE messages (
  global_position      INTEGER PRIMARY KEY AUTOINCREMENT,
  position             INTEGER NOT NULL,
  -- UTC, microseconds: 2006-01-02T15:04:05.000000Z
  time                 TEXT NOT NULL,
  stream_name          TEXT NOT NULL,
  type                 TEXT NOT NULL,
  data                 TEXT NOT NULL,
  metadata             TEXT,
  id                   TEXT NOT NULL,
  category             TEXT NOT NULL,
  group_hash           INTEGER,
  correlation_category TEXT
) STRICT;

-- Idempotent retries and duplicate ids.
CREATE UNIQUE INDEX messages_id ON messages (id);
-- Stream reads, versions, last message; the backstop against two messages
-- at one position.
CREATE UNIQUE INDEX messages_stream ON messages (stream_name, position);
-- Category reads in global position order. group_hash is in the index so
-- that a consumer group's filter is evaluated on the index entries, without
-- reading the rows of the other members' streams.
CREATE INDEX messages_category ON messages (category, global_position, group_hash);
