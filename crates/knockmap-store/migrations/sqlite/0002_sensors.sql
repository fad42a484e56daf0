-- Remote sensors: one row per name. Only the SHA-256 of a sensor's token is kept; the token
-- itself is shown once, when it is created. A revoked sensor keeps its row (its events stay
-- attributed to it) until its name is given a new token.
CREATE TABLE sensors (
    name         TEXT    PRIMARY KEY,
    token_sha256 BLOB    NOT NULL UNIQUE,
    lat          REAL,
    lon          REAL,
    created      INTEGER NOT NULL,          -- microseconds since the Unix epoch, UTC
    revoked_at   INTEGER,
    last_seen    INTEGER,
    -- Health as last reported by the sensor (totals since the sensor process started).
    lines_read   INTEGER,
    events       INTEGER,
    unmatched    INTEGER,
    version      TEXT
);
