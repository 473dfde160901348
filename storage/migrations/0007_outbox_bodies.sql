-- A digest edition has tens of thousands of outbox rows but only as many different messages
-- as there are (language, choice, part) combinations. Each distinct message is stored once and
-- the rows point to it: writing an edition for 50,000 subscribers then writes kilobytes of text
-- per distinct message instead of half a gigabyte.
CREATE TABLE outbox_bodies (
    id           INTEGER PRIMARY KEY,
    text         TEXT,                       -- HTML message text or document caption
    reply_markup TEXT,                       -- JSON of an InlineKeyboardMarkup
    document     BLOB,
    filename     TEXT
);
-- No foreign key: a body goes once no pending row needs it, while finished rows keep their
-- record (status, time) for the retention period.
ALTER TABLE outbox ADD COLUMN body_id INTEGER;
