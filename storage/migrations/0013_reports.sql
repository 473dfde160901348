-- Labels staff put on cases (/label): a tip category key or a free word. Counted in /stats,
-- the weekly summary and the district report; never shown to the resident.
CREATE TABLE case_labels (
    case_id   INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    label     TEXT NOT NULL,
    added_by  INTEGER,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (case_id, label)
);
CREATE INDEX case_labels_by_label ON case_labels (label);

-- One weekly summary per ISO week in the staff chat: claimed before posting, so a restart or
-- a second instance never posts the same week twice.
CREATE TABLE weekly_summaries (
    week        TEXT PRIMARY KEY,          -- e.g. 2026-W48
    claimed_at  TEXT NOT NULL,
    posted_at   TEXT,
    message_id  INTEGER
);

-- Staff members as the bot has seen them in the staff chat, so that `/assign @username` can
-- find a colleague (Telegram gives bots no lookup by username). Only what that needs.
CREATE TABLE staff_members (
    user_id     INTEGER PRIMARY KEY,
    username    TEXT,
    first_name  TEXT NOT NULL DEFAULT '',
    last_seen   TEXT NOT NULL
);
CREATE INDEX staff_members_username ON staff_members (lower(username));
