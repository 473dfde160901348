-- The order in which residents asked for a place, as a column of its own: two residents who
-- press "I'm going" in the same microsecond keep the order they were stored in. SQLite's
-- rowid gave it before; PostgreSQL has no such thing (0022_going_order.pg.sql).
ALTER TABLE activity_going ADD COLUMN seq INTEGER;
UPDATE activity_going SET seq = rowid;
CREATE TRIGGER activity_going_seq AFTER INSERT ON activity_going WHEN NEW.seq IS NULL
BEGIN
    UPDATE activity_going SET seq = NEW.rowid WHERE rowid = NEW.rowid;
END;
