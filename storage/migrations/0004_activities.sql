-- The delivery engine's outbox: one row per recipient per edition per part, written before
-- anything is sent, so that a crash loses nothing and a second run sends only what is left.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    edition      TEXT NOT NULL,              -- e.g. digest-2026-W48, survey-park-2026
    chat_id      INTEGER NOT NULL,
    part         INTEGER NOT NULL DEFAULT 0, -- order of the messages into one chat
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'document')),
    text         TEXT,                       -- HTML message text or document caption
    reply_markup TEXT,                       -- JSON of an InlineKeyboardMarkup
    document     BLOB,
    filename     TEXT,
    resident_id  INTEGER,                    -- the resident behind chat_id, if any
    on_blocked   TEXT,                       -- what a 403 ends (see storage/outbox.py)
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sent', 'blocked', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,                       -- the last Telegram error, never message text
    message_id   INTEGER,
    created_at   TEXT NOT NULL,
    done_at      TEXT,
    UNIQUE (edition, chat_id, part)
);
CREATE INDEX outbox_pending ON outbox (status, edition, chat_id, part);

-- One broadcast at a time: a second run (the weekly job and an operator's `digest send`)
-- waits its turn instead of sending the same rows twice.
CREATE TABLE delivery_lock (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    heartbeat   REAL NOT NULL
);

-- Where activities come from: an iCalendar UID (a whole recurring series), a CSV row, a staff
-- conversation or an organiser's proposal. The source text is kept so that recurring series
-- can be expanded further as time goes on.
CREATE TABLE activity_series (
    uid          TEXT PRIMARY KEY,
    source       TEXT NOT NULL CHECK (source IN ('ics', 'csv', 'staff', 'organiser')),
    ical         TEXT,                       -- the VEVENT(s) of this UID, for re-expansion
    status       TEXT NOT NULL DEFAULT 'listed'
                 CHECK (status IN ('listed', 'proposed', 'rejected', 'cancelled')),
    proposed_by  INTEGER,                    -- organiser's Telegram id for proposals
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Activities: one row per dated happening (a weekly meetup gives one row per week), since
-- that is what residents go to, get reminded of and give feedback on.
CREATE TABLE activities (
    id            INTEGER PRIMARY KEY,
    series_uid    TEXT NOT NULL REFERENCES activity_series (uid) ON DELETE CASCADE,
    occurrence    TEXT NOT NULL,             -- the original start (RECURRENCE-ID), UTC ISO
    starts_at     TEXT NOT NULL,             -- UTC ISO
    ends_at       TEXT NOT NULL,             -- UTC ISO
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    place         TEXT NOT NULL DEFAULT '',
    organiser     TEXT NOT NULL DEFAULT '',
    category      TEXT NOT NULL DEFAULT '',
    age_groups    TEXT NOT NULL DEFAULT '',  -- comma-separated codes; empty = for everyone
    languages     TEXT NOT NULL DEFAULT '',  -- languages spoken there, comma-separated codes
    price         TEXT NOT NULL DEFAULT '',  -- empty = free
    translations  TEXT NOT NULL DEFAULT '{}', -- {"ar": {"title": .., "description": ..}}
    cancelled     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (series_uid, occurrence)
);
CREATE INDEX activities_start ON activities (starts_at);
CREATE INDEX activities_end ON activities (ends_at);

-- "I'm going": who plans to come (later features ask them for feedback).
CREATE TABLE activity_going (
    activity_id  INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    telegram_id  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (activity_id, telegram_id)
);
CREATE INDEX activity_going_resident ON activity_going (telegram_id);

-- The weekly digest's subscribers and the age groups of their children.
CREATE TABLE digest_subscriptions (
    telegram_id  INTEGER PRIMARY KEY,
    age_groups   TEXT NOT NULL DEFAULT '',   -- comma-separated codes; 'all' = everything
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    ended_at     TEXT,
    ended_reason TEXT                        -- 'unsubscribed' or 'blocked'
);

-- Volunteer organisations' people, registered by staff, who may propose activities.
CREATE TABLE organisers (
    telegram_id  INTEGER PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    added_by     INTEGER,
    created_at   TEXT NOT NULL
);
