-- A short guided form for one activity being filled in: staff in the staff chat
-- (/activity_add) or a volunteer organiser in their private chat (/propose). One per person;
-- kept in the database so a restart in the middle resumes at the same question. Deleted when
-- the form is finished or stopped; a form untouched for a while is no longer active and is
-- replaced by the next one.
CREATE TABLE activity_forms (
    telegram_id  INTEGER PRIMARY KEY,    -- who is writing (staff need not be residents)
    kind         TEXT NOT NULL,          -- staff, organiser
    chat_id      INTEGER NOT NULL,       -- where the form was started; answers come from there
    thread_id    INTEGER,                -- the staff chat's forum topic, if any
    step         TEXT NOT NULL,          -- the question waiting for an answer (FormStep)
    answers      TEXT NOT NULL,          -- JSON object: step -> checked answer
    last_message INTEGER,                -- the message of the last answer taken (replays)
    updated_at   TEXT NOT NULL
);
