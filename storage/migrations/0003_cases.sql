-- Staff cases: a resident asked to talk to a person. One forum topic in the staff chat per case,
-- created on the resident's first message. Times are ISO 8601 in UTC.
CREATE TABLE cases (
    id                   INTEGER PRIMARY KEY,
    -- NULL once the resident is forgotten or the case has expired (the row stays for /stats).
    resident_id          INTEGER REFERENCES residents(telegram_id) ON DELETE SET NULL,
    language             TEXT NOT NULL,
    -- 1 until the resident allows staff to see their first name.
    anonymous            INTEGER NOT NULL DEFAULT 1,
    status               TEXT NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'closed', 'cancelled')),
    opened_at            TEXT NOT NULL,
    topic_id             INTEGER,
    first_message_at     TEXT,
    -- The resident's oldest message that no staff reply has answered yet (NULL: answered).
    waiting_since        TEXT,
    reminded_at          TEXT,
    first_staff_reply_at TEXT,
    assigned_to          INTEGER,
    assigned_name        TEXT,
    -- Opening time of the closed period whose automatic answer was sent (once per period).
    closed_notice_for    TEXT,
    closed_at            TEXT,
    -- Staff member who closed it; NULL when the resident ended it.
    closed_by            INTEGER,
    rating               INTEGER CHECK (rating BETWEEN 1 AND 5),
    rated_at             TEXT
);
-- At most one open case per resident.
CREATE UNIQUE INDEX cases_one_open ON cases (resident_id) WHERE status = 'open';
CREATE INDEX cases_topic ON cases (topic_id);

-- Which message in the resident's chat is which message in the case topic (ids only, never
-- the content), so replies can be threaded and a delivery is never repeated.
CREATE TABLE case_messages (
    id                  INTEGER PRIMARY KEY,
    case_id             INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    direction           TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind                TEXT NOT NULL,
    resident_message_id INTEGER,
    staff_message_id    INTEGER,
    staff_user_id       INTEGER,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'failed')),
    error               TEXT,
    created_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX case_messages_in ON case_messages (case_id, resident_message_id)
    WHERE direction = 'in';
CREATE UNIQUE INDEX case_messages_out ON case_messages (case_id, staff_message_id)
    WHERE direction = 'out';

-- Internal notes (/note): for staff only, never sent to the resident.
CREATE TABLE case_notes (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    staff_user_id INTEGER NOT NULL,
    text          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
