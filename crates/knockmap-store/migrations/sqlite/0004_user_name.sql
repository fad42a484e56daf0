-- `user` is a reserved word in PostgreSQL; the column has the same name on every backend.
ALTER TABLE events RENAME COLUMN user TO user_name;
