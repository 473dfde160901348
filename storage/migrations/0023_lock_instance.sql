-- Which instance holds a lease or lock in delivery_lock (PostgreSQL, where several instances
-- share the database): the number of its instance lock (storage/chat_locks.py), or NULL when
-- it has none (`python -m bot digest send`). Another instance takes the row over at once when
-- that instance lock is gone: its holder's process died. NULL on SQLite, which has one instance.
ALTER TABLE delivery_lock ADD COLUMN instance INTEGER;
