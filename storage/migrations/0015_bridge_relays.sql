-- The language bridge in cases and tips.

-- Words waiting for the translation server (a resident's message in a case): kept only until
-- the translation is posted in the case topic, erased with the resident (owner), and never
-- older than the retention period.
CREATE TABLE bridge_texts (
    key        TEXT PRIMARY KEY,            -- the outbox task that translates it
    owner      INTEGER NOT NULL,            -- residents.telegram_id
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bridge_texts_owner ON bridge_texts (owner);

-- Cases whose staff switched machine translation off (/translate off): they speak the language.
CREATE TABLE case_translation_off (
    case_id    INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,            -- who switched it off
    changed_at TEXT NOT NULL
);
