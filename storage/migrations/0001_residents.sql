-- Residents: the people who talk to the bot. Only what the service needs: the Telegram id to
-- answer them, their chosen language, when we first and last saw them (for retention), and
-- whether the privacy notice was shown.
CREATE TABLE residents (
    telegram_id          INTEGER PRIMARY KEY,
    language             TEXT NOT NULL,
    language_chosen      INTEGER NOT NULL DEFAULT 0,
    first_name           TEXT,
    first_seen           TEXT NOT NULL,
    last_seen            TEXT NOT NULL,
    privacy_notice_shown TEXT
);
