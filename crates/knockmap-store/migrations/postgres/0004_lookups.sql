-- See SQLite's 0007_lookups.sql.
CREATE TABLE lookups (
    ip           TEXT    NOT NULL,
    service      TEXT    NOT NULL,
    fetched_at   BIGINT  NOT NULL,
    status       TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (ip, service)
);
