-- Ages that grow: a subscription stores the children's birth years, and the digest works out
-- their age groups on the day it is sent. Subscriptions from before keep their age groups
-- (in age_groups) until the family answers /subscribe again; from then on age_groups holds
-- only what does not grow ('adults' or 'all').
ALTER TABLE digest_subscriptions ADD COLUMN birth_years TEXT NOT NULL DEFAULT '';
-- Where the family is in /subscribe (NULL: not in it), and the years chosen so far.
ALTER TABLE digest_subscriptions ADD COLUMN step TEXT;
ALTER TABLE digest_subscriptions ADD COLUMN draft_years TEXT NOT NULL DEFAULT '';

-- Announcements from staff (/announce) or operators (python -m bot announce send).
CREATE TABLE announcements (
    id          INTEGER PRIMARY KEY,
    step        TEXT,                 -- where /announce is (NULL: confirmed or from a file)
    staff_id    INTEGER,              -- who is writing it in the staff chat (NULL: a file)
    thread_id   INTEGER,              -- the staff chat's forum topic it is written in
    texts       TEXT NOT NULL DEFAULT '{}',  -- JSON {language: text}
    machine     TEXT NOT NULL DEFAULT '',    -- languages whose text is a machine translation
    audience    TEXT NOT NULL DEFAULT '{}',  -- JSON {"ages": [...], "languages": [...], ...}
    send_at     TEXT,                 -- when to send (UTC ISO); NULL: not decided yet
    status      TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'scheduled', 'sent', 'cancelled')),
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX announcements_due ON announcements (status, send_at);

-- Residents who stopped announcements (the weekly list is separate).
CREATE TABLE announcement_optouts (
    telegram_id INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL
);
