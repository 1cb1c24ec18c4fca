-- One namespace's message store on SQLite: Message DB's messages table, with
-- the consumer-group hash stored at write time (see domain.GroupHash).
CREATE TABLE messages (
  global_position INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT NOT NULL,
  stream_name     TEXT NOT NULL,
  category        TEXT NOT NULL,
  type            TEXT NOT NULL,
  position        INTEGER NOT NULL,
  data            TEXT NOT NULL,
  metadata        TEXT,
  time            TEXT NOT NULL,
  group_hash      INTEGER
);
CREATE UNIQUE INDEX messages_id ON messages (id);
CREATE UNIQUE INDEX messages_stream ON messages (stream_name, position);
CREATE INDEX messages_category ON messages (category, global_position);
