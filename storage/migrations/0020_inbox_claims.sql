-- Which instance stored an update (PostgreSQL, where several instances share the database):
-- the number of its instance lock (storage/chat_locks.py). An update still unhandled whose
-- instance is gone is taken over by a live one. NULL on SQLite, which has one instance.
ALTER TABLE inbox ADD COLUMN claimed_by INTEGER;
