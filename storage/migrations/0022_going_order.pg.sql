-- The order in which residents asked for a place (see 0022_going_order.sql): a sequence
-- numbers every new row; rows from before are numbered in their stored order.
ALTER TABLE activity_going ADD COLUMN seq BIGSERIAL;
