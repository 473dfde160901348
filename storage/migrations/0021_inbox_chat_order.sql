-- The chat (or forum topic) an update belongs to, as the key of its advisory lock
-- (storage/chat_locks.py): an instance about to handle a chat's update first handles that
-- chat's earlier updates still waiting in the inbox, so one chat's updates keep their order
-- when a load balancer spreads them over several instances.
ALTER TABLE inbox ADD COLUMN chat_key INTEGER;
CREATE INDEX inbox_chat_waiting ON inbox (chat_key, update_id) WHERE handled_at IS NULL;
