-- Erasure and retention reach the staff chat, and staff can moderate cases.

-- What each staff-chat message of a tip is, so that erasure knows whether to delete it, edit
-- it or leave it: card, photo, document, voice, video, location, text (a relayed answer),
-- staff (a staff member's own message: not the resident's data, left alone). NULL: stored
-- before this column existed (deleted when Telegram allows, else listed for staff).
ALTER TABLE tip_staff_messages ADD COLUMN kind TEXT;

-- One row per removal in the staff chat (message ids only, never content): enqueued with the
-- erasure or the retention run that asked for it, and filled in by the outbox task that did it.
CREATE TABLE staff_chat_erasures (
    id           INTEGER PRIMARY KEY,
    batch        TEXT NOT NULL,          -- one /deleteme, `residents forget` or retention run
    reason       TEXT NOT NULL CHECK (reason IN ('resident', 'retention')),
    target       TEXT NOT NULL CHECK (target IN ('topic', 'card', 'message')),
    kind         TEXT,                   -- for messages: see tip_staff_messages.kind
    subject      TEXT,                   -- T-0001 or S-0001: for the note to staff
    tip_id       INTEGER,
    thread_id    INTEGER,
    message_id   INTEGER,
    outcome      TEXT NOT NULL DEFAULT 'pending'
                 CHECK (outcome IN ('pending', 'deleted', 'edited', 'kept', 'gone', 'failed')),
    enqueued_at  TEXT NOT NULL,
    done_at      TEXT
);
CREATE INDEX staff_chat_erasures_batch ON staff_chat_erasures (batch);

-- Moderation: a blocked case relays nothing more from the resident (/block, /unblock).
ALTER TABLE cases ADD COLUMN blocked_at TEXT;
ALTER TABLE cases ADD COLUMN blocked_by INTEGER;
ALTER TABLE cases ADD COLUMN blocked_by_name TEXT;
ALTER TABLE cases ADD COLUMN block_reason TEXT;
-- When the blocked resident was last given the short hint (at most once a day).
ALTER TABLE cases ADD COLUMN block_hint_at TEXT;
