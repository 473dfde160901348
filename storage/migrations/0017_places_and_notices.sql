-- Places, waiting lists, reminders and change notices for activities.

-- How many may come (NULL: no limit). From the CSV column `capacity`, iCalendar `X-CAPACITY`
-- or the staff form.
ALTER TABLE activities ADD COLUMN capacity INTEGER;

-- "I'm going" beyond the capacity puts the resident on the waiting list (waiting = 1), in the
-- order they asked (created_at); a freed place goes to the first one waiting.
ALTER TABLE activity_going ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
-- When the resident got their place (joining, or moved up from the waiting list): the reminder
-- goes to those who had their place by its time (the news of a place has the details itself).
ALTER TABLE activity_going ADD COLUMN placed_at TEXT;
-- The resident allowed the organisers to see their first name on the exported list.
ALTER TABLE activity_going ADD COLUMN show_name INTEGER NOT NULL DEFAULT 0;
CREATE INDEX activity_going_list ON activity_going (activity_id, waiting, created_at);

-- A cancellation or a new time or place, recorded in the transaction that makes it: the bot
-- tells everyone on the list once per change (a delivery edition `change-<activity>-<n>`),
-- and the next digest marks the activity.
CREATE TABLE activity_changes (
    id           INTEGER PRIMARY KEY,
    activity_id  INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    n            INTEGER NOT NULL,           -- 1, 2, ... per activity
    kind         TEXT NOT NULL CHECK (kind IN ('cancelled', 'moved')),
    created_at   TEXT NOT NULL,
    announced    INTEGER NOT NULL DEFAULT 0, -- its edition is in the outbox
    UNIQUE (activity_id, n)
);
CREATE INDEX activity_changes_unannounced ON activity_changes (announced);
