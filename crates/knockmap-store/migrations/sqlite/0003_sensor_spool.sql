-- The sensor's disk spool as last reported: bytes and batches waiting in it, and events it
-- dropped because it was full (since the sensor process started).
ALTER TABLE sensors ADD COLUMN spool_bytes INTEGER;
ALTER TABLE sensors ADD COLUMN spool_batches INTEGER;
ALTER TABLE sensors ADD COLUMN dropped_events INTEGER;
