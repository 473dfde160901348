-- The language bridge: cached machine translations, reply templates and the languages staff read.

-- Translations already made, so the same text is not sent to the translation server twice.
-- The source text is not stored, only its hash; the translation is, so the cache belongs to the
-- resident whose words it holds (owner; 0 for texts of nobody's, such as reply templates):
-- erasing the resident erases it, and every row goes after a short lifetime anyway.
CREATE TABLE translation_cache (
    owner      INTEGER NOT NULL,            -- residents.telegram_id, or 0
    text_hash  TEXT NOT NULL,               -- SHA-256 of format and source text
    source     TEXT NOT NULL,               -- the language asked for, or 'auto'
    target     TEXT NOT NULL,
    translated TEXT NOT NULL,
    detected   TEXT,                        -- the server's guess when source was 'auto'
    confidence REAL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, text_hash, source, target)
) WITHOUT ROWID;
CREATE INDEX translation_cache_age ON translation_cache (created_at);

-- Answers staff give every week, one text per language (loaded from a TOML file; the file is
-- the whole list, so loading it replaces what was there).
CREATE TABLE reply_templates (
    key        TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    label      TEXT NOT NULL,               -- the button staff press, in the staff language
    texts      TEXT NOT NULL,               -- JSON {language: HTML text}
    updated_at TEXT NOT NULL
);

-- Which languages each staff member reads, so new cases in them can mention that person.
CREATE TABLE staff_languages (
    user_id    INTEGER NOT NULL,            -- the staff member's Telegram id
    language   TEXT NOT NULL,
    position   INTEGER NOT NULL,            -- the order they were given in
    name       TEXT NOT NULL,               -- first name, for the mention in a case header
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, language)
) WITHOUT ROWID;
CREATE INDEX staff_languages_language ON staff_languages (language);
