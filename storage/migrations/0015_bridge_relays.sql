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

-- What the bridge adds to a tip for staff: its description in the staff language, and the
-- transcript of its voice message (in the spoken language) with a translation. Erased with the
-- tip's other personal data (storage/tips.py), by /deleteme and by retention.
CREATE TABLE tip_bridge (
    tip_id                 INTEGER PRIMARY KEY REFERENCES tips (id),
    translated             TEXT,        -- the description, machine-translated
    translated_from        TEXT,        -- the detected language of the description
    transcript             TEXT,        -- the voice message, written down
    transcript_translated  TEXT,
    transcript_language    TEXT,        -- the detected language of the transcript
    note                   TEXT,        -- why there is no transcript ('too long', 'failed')
    updated_at             TEXT NOT NULL
);
