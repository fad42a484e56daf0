-- See SQLite's 0006_generation.sql.
CREATE TABLE store_generation (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    generation   BIGINT  NOT NULL
);
INSERT INTO store_generation (id, generation) VALUES (1, 0);
