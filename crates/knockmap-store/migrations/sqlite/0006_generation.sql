-- A counter that every write the server mirrors in memory moves on by one (a stored batch of
-- events, a star), in the same transaction. A server whose in-memory summary is behind the
-- counter knows that another process wrote to the database.
CREATE TABLE store_generation (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    generation   INTEGER NOT NULL
);
INSERT INTO store_generation (id, generation) VALUES (1, 0);
