-- One outbox for everything that must reach Telegram. Besides broadcast rows (kind 'text' or
-- 'document', sent by the delivery engine), a row may now be a *task*: `kind` names a sender
-- function of the bot (tip-card, tip-question, case-relay, ...), `payload` holds its arguments
-- as JSON (ids, never message text written by a person), and `next_attempt_at` is when it
-- may be tried again after a failure. `edition` is the task's key (tip-card:42): enqueueing
-- the same task twice adds nothing. chat_id 0 means "the staff chat" (it is configuration).
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt: `kind` is no
-- longer limited to the two broadcast kinds (the code checks it).
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    edition         TEXT NOT NULL,
    chat_id         INTEGER NOT NULL,
    part            INTEGER NOT NULL DEFAULT 0,
    kind            TEXT NOT NULL,
    text            TEXT,
    reply_markup    TEXT,
    document        BLOB,
    filename        TEXT,
    resident_id     INTEGER,
    on_blocked      TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'blocked', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    message_id      INTEGER,
    created_at      TEXT NOT NULL,
    done_at         TEXT,
    body_id         INTEGER,
    payload         TEXT,
    next_attempt_at TEXT,
    UNIQUE (edition, chat_id, part)
);
INSERT INTO outbox_new (id, edition, chat_id, part, kind, text, reply_markup, document,
    filename, resident_id, on_blocked, status, attempts, error, message_id, created_at, done_at,
    body_id)
SELECT id, edition, chat_id, part, kind, text, reply_markup, document, filename, resident_id,
    on_blocked, status, attempts, error, message_id, created_at, done_at, body_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (status, edition, chat_id, part);
-- The task runner looks only at pending tasks: a small partial index, whatever the size of
-- a digest edition waiting beside them.
CREATE INDEX outbox_tasks ON outbox (id) WHERE status = 'pending' AND payload IS NOT NULL;

-- Work the tip and case features stored before this migration and had not sent yet becomes
-- tasks, so nothing waiting is lost in the upgrade.
INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)
SELECT 'tip-card:' || id, 0, 'tip-card', json_object('tip_id', id), created_at
FROM tips WHERE posted_at IS NULL;
INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)
SELECT 'tip-news:' || id, 0, 'tip-news', json_object('change_id', id), changed_at
FROM tip_status_changes WHERE notified_at IS NULL;
INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)
SELECT 'tip-answer:' || id, 0, 'tip-answer', json_object('answer_id', id), created_at
FROM tip_answers WHERE relayed_at IS NULL;
INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)
SELECT 'tip-question:q' || id, telegram_id, 'tip-question', json_object('question_id', id),
    asked_at
FROM tip_questions WHERE resident_message_id IS NULL AND answered_at IS NULL;
INSERT OR IGNORE INTO outbox (edition, chat_id, kind, payload, created_at)
SELECT 'case-in:' || m.id, 0, 'case-relay', json_object('row', m.id), m.created_at
FROM case_messages m JOIN cases c ON c.id = m.case_id
WHERE m.direction = 'in' AND m.status = 'pending' AND c.status = 'open';
