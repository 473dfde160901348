-- Tips staff register (from a case, or for a walk-in visitor at the office) and the
-- "is it fixed?" question after a tip was resolved.

-- Where a tip came from: 'resident' (written in the bot), 'case' (made by staff from a
-- conversation), 'walk-in' (registered by staff for a visitor at the office).
ALTER TABLE tips ADD COLUMN source TEXT NOT NULL DEFAULT 'resident';

-- A staff member writing a tip (/tip_new, /tip_from_case): one per staff member, in the chat
-- and forum topic where they started it; dropped when saved, stopped or abandoned.
CREATE TABLE staff_tip_forms (
    staff_user_id  INTEGER PRIMARY KEY,
    chat_id        INTEGER NOT NULL,
    thread_id      INTEGER,
    case_id        INTEGER REFERENCES cases (id) ON DELETE CASCADE,
    step           TEXT NOT NULL,      -- category, describe, place, confirm
    category       TEXT,
    description    TEXT,
    latitude       REAL,
    longitude      REAL,
    place_text     TEXT,
    last_message   INTEGER,            -- the staff message taken last (a replay adds nothing)
    updated_at     TEXT NOT NULL
);

CREATE TABLE staff_tip_form_media (
    id             INTEGER PRIMARY KEY,
    staff_user_id  INTEGER NOT NULL REFERENCES staff_tip_forms (staff_user_id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,      -- photo, voice, video
    file_id        TEXT NOT NULL,
    mime_type      TEXT
);

-- A one-time code that links a walk-in tip to the visitor who opens t.me/<bot>?start=claim-CODE.
CREATE TABLE tip_claims (
    code        TEXT PRIMARY KEY,
    tip_id      INTEGER NOT NULL REFERENCES tips (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    claimed_at  TEXT
);

-- "Is it fixed?": asked once per person per resolution (the "resolved" status change).
CREATE TABLE tip_fixed_checks (
    change_id    INTEGER NOT NULL REFERENCES tip_status_changes (id) ON DELETE CASCADE,
    telegram_id  INTEGER NOT NULL,
    asked_at     TEXT NOT NULL,
    answer       TEXT,                 -- yes, no
    answered_at  TEXT,
    PRIMARY KEY (change_id, telegram_id)
);
