-- Tips and complaints from residents, and what staff did with them.

-- A tip being written: one per resident, driven by buttons and messages. Dropped after 30
-- minutes without a touch (updated_at); never shown to staff.
CREATE TABLE tip_drafts (
    telegram_id     INTEGER PRIMARY KEY REFERENCES residents (telegram_id) ON DELETE CASCADE,
    step            TEXT NOT NULL,      -- category, external, describe, place, identity, similar, confirm
    category        TEXT,
    description     TEXT,
    latitude        REAL,
    longitude       REAL,
    place_text      TEXT,
    show_name       INTEGER,
    similar_tip_id  INTEGER,            -- an open tip nearby offered for "me too"
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Photos, images sent as files, voice messages and videos of a draft, by Telegram file id.
CREATE TABLE tip_draft_media (
    id           INTEGER PRIMARY KEY,
    telegram_id  INTEGER NOT NULL REFERENCES tip_drafts (telegram_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,         -- photo, image, voice, video
    file_id      TEXT NOT NULL,
    mime_type    TEXT
);

-- Confirmed tips. The reference shown to people is T-<id>, zero-padded to four digits.
-- telegram_id is NULL once the reporter is erased; reporter_name is kept only if they allowed
-- staff to see it. posted_at is NULL until the card reached the staff chat (the outbox).
CREATE TABLE tips (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id            INTEGER,
    category               TEXT NOT NULL,
    description            TEXT,
    latitude               REAL,
    longitude              REAL,
    place_text             TEXT,
    show_name              INTEGER NOT NULL DEFAULT 0,
    reporter_name          TEXT,
    language               TEXT NOT NULL,
    status                 TEXT NOT NULL DEFAULT 'new',
    possible_duplicate_of  INTEGER REFERENCES tips (id),
    merged_into            INTEGER REFERENCES tips (id),
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    staff_thread_id        INTEGER,
    staff_card_message_id  INTEGER,
    posted_at              TEXT
);
CREATE INDEX tips_by_resident ON tips (telegram_id, created_at);
CREATE INDEX tips_by_category ON tips (category, status, created_at);
CREATE INDEX tips_unposted ON tips (posted_at) WHERE posted_at IS NULL;

CREATE TABLE tip_media (
    id         INTEGER PRIMARY KEY,
    tip_id     INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    file_id    TEXT NOT NULL,
    mime_type  TEXT
);

-- Residents who pressed "me too" (or whose duplicate was merged): told of status changes.
CREATE TABLE tip_followers (
    tip_id       INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    telegram_id  INTEGER NOT NULL,
    since        TEXT NOT NULL,
    PRIMARY KEY (tip_id, telegram_id)
);

-- Every status change, with the staff member who made it. notified_at is NULL until the
-- reporter and followers were told (tip_notifications says who got it).
CREATE TABLE tip_status_changes (
    id             INTEGER PRIMARY KEY,
    tip_id         INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    staff_user_id  INTEGER,
    changed_at     TEXT NOT NULL,
    notified_at    TEXT
);

CREATE TABLE tip_notifications (
    change_id    INTEGER NOT NULL REFERENCES tip_status_changes (id) ON DELETE CASCADE,
    telegram_id  INTEGER NOT NULL,
    outcome      TEXT NOT NULL,          -- sent, blocked, failed
    at           TEXT NOT NULL,
    PRIMARY KEY (change_id, telegram_id)
);

-- One forum topic per category in the staff chat, created on first use.
CREATE TABLE tip_topics (
    category    TEXT PRIMARY KEY,
    thread_id   INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- Staff-chat messages that belong to a tip (card, media, answers): a staff reply to any of
-- them is a follow-up question to the resident.
CREATE TABLE tip_staff_messages (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    tip_id      INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, message_id)
);

-- Follow-up questions from staff, and the resident's answers waiting to reach the staff chat.
CREATE TABLE tip_questions (
    id                   INTEGER PRIMARY KEY,
    tip_id               INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    telegram_id          INTEGER NOT NULL,
    staff_user_id        INTEGER NOT NULL,
    text                 TEXT NOT NULL,
    resident_message_id  INTEGER,
    asked_at             TEXT NOT NULL,
    answered_at          TEXT
);

CREATE TABLE tip_answers (
    id                   INTEGER PRIMARY KEY,
    tip_id               INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    telegram_id          INTEGER NOT NULL,
    kind                 TEXT NOT NULL,   -- text, or a media kind copied from the resident's chat
    text                 TEXT,
    resident_message_id  INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    relayed_at           TEXT
);
