-- Updates from Telegram, written down before Telegram is told they arrived (the next
-- getUpdates acknowledges them), so an update the bot fetched but had not finished handling
-- when it crashed is handled after the restart instead of being lost. The payload (which holds
-- what the person wrote) is removed as soon as the update is handled; the bare id stays for two
-- days so that an update Telegram delivers again is recognised and not handled twice.
CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    payload     TEXT,                       -- the update as JSON; NULL once handled
    received_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0, -- starts after a restart; a poison update gives up
    handled_at  TEXT
);
CREATE INDEX inbox_unhandled ON inbox (update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_handled_at ON inbox (handled_at);

-- When the resident was told their tip's number. A "Send the tip" press handled again after a
-- crash repeats the thanks only if it never went out.
ALTER TABLE tips ADD COLUMN thanked_at TEXT;
