-- Surveys: definitions loaded from TOML files (or made for an activity's feedback), and the
-- answers residents give, one tap at a time.
--
-- Anonymity is a property of the tables, not a promise of the code: in an anonymous survey a
-- response row has no resident, the "has answered" marker holds no answers, neither carries a
-- time finer than a day, and both tables are WITHOUT ROWID so their storage order does not
-- follow insertion order. The only link, the response token in `survey_sessions`, exists while
-- the resident is answering and is deleted when they finish or stop.
CREATE TABLE surveys (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,              -- JSON {language: text}
    anonymous   INTEGER NOT NULL,
    opens_on    TEXT,                       -- ISO date, first open day (district time zone)
    closes_on   TEXT,                       -- ISO date, last open day
    activity_id INTEGER UNIQUE,             -- set for the automatic feedback on an activity
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE survey_questions (
    id        INTEGER PRIMARY KEY,
    survey_id INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,                -- the question's id in the TOML file
    position  INTEGER,                      -- NULL: removed from the file, kept for its answers
    kind      TEXT NOT NULL CHECK (kind IN ('smiley', 'choice', 'multiple', 'text')),
    text      TEXT NOT NULL,                -- JSON {language: text}
    optional  INTEGER NOT NULL,
    UNIQUE (survey_id, key)
);

CREATE TABLE survey_options (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES survey_questions(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    position    INTEGER,                    -- NULL: removed from the file, kept for its answers
    text        TEXT NOT NULL,              -- JSON {language: text}
    UNIQUE (question_id, key)
);

CREATE TABLE survey_responses (
    token       TEXT PRIMARY KEY,           -- random, not a counter
    survey_id   INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    resident_id INTEGER REFERENCES residents(telegram_id) ON DELETE CASCADE,  -- NULL if anonymous
    language    TEXT NOT NULL,
    started_on  TEXT NOT NULL,              -- a date only
    finished    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX survey_responses_survey ON survey_responses (survey_id);
CREATE INDEX survey_responses_resident ON survey_responses (resident_id);

CREATE TABLE survey_answers (
    response_token TEXT NOT NULL REFERENCES survey_responses(token) ON DELETE CASCADE,
    question_id    INTEGER NOT NULL REFERENCES survey_questions(id) ON DELETE CASCADE,
    option_id      INTEGER REFERENCES survey_options(id) ON DELETE CASCADE,
    value          INTEGER,                 -- smileys 1..5
    text           TEXT                     -- free text, as written
);
CREATE UNIQUE INDEX survey_answers_once
    ON survey_answers (response_token, question_id, COALESCE(option_id, 0));
CREATE INDEX survey_answers_question ON survey_answers (question_id);

-- "Has answered": who took part, nothing about what they said or when.
CREATE TABLE survey_participants (
    survey_id   INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(telegram_id) ON DELETE CASCADE,
    PRIMARY KEY (survey_id, resident_id)
) WITHOUT ROWID;

-- A resident answering right now: which survey, which question, and the response token.
CREATE TABLE survey_sessions (
    resident_id    INTEGER PRIMARY KEY REFERENCES residents(telegram_id) ON DELETE CASCADE,
    survey_id      INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    response_token TEXT NOT NULL REFERENCES survey_responses(token) ON DELETE CASCADE,
    question_id    INTEGER NOT NULL REFERENCES survey_questions(id) ON DELETE CASCADE,
    message_id     INTEGER,                 -- the message asking it (its buttons go when answered)
    updated_at     TEXT NOT NULL
);

-- Invitations the bot sent unasked (for the one-a-week limit and to never invite twice).
CREATE TABLE survey_invitations (
    survey_id   INTEGER NOT NULL REFERENCES surveys(id) ON DELETE CASCADE,
    resident_id INTEGER NOT NULL REFERENCES residents(telegram_id) ON DELETE CASCADE,
    invited_at  TEXT NOT NULL,
    PRIMARY KEY (survey_id, resident_id)
);
CREATE INDEX survey_invitations_recent ON survey_invitations (resident_id, invited_at);

-- Activities whose feedback question has been handled (sent, or nobody to ask).
CREATE TABLE survey_feedback_done (
    activity_id INTEGER PRIMARY KEY,
    survey_id   INTEGER REFERENCES surveys(id) ON DELETE SET NULL,
    done_at     TEXT NOT NULL
);
