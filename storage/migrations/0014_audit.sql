-- Who did what with personal data, and when: exports, erasures, blocks, case assignments.
-- Never the content, and never a resident's Telegram ID (an erasure's record must not undo it).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('staff', 'operator', 'resident', 'system')),
    actor_id    INTEGER,            -- a staff member's Telegram ID; NULL for the others
    actor_name  TEXT,               -- a staff member's first name, for reading the list
    action      TEXT NOT NULL,      -- e.g. export.tips, erase.resident, case.assign
    subject     TEXT,               -- e.g. a case number or a survey slug; never a resident
    detail      TEXT                -- e.g. the export format; never message text
);
CREATE INDEX audit_log_at ON audit_log (at);
