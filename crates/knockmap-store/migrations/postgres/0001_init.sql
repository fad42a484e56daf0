-- The schema of SQLite's migrations 0001 to 0004 in one step. Times are microseconds since the
-- Unix epoch, UTC; flags are 0 or 1 (SMALLINT, like the other backends).

-- One row per event line. `id` is derived from (sensor, source fingerprint, byte offset), so
-- ingesting the same line twice stores it once.
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           BYTEA   NOT NULL UNIQUE,
    ts           BIGINT  NOT NULL,
    sensor       TEXT    NOT NULL,
    host         TEXT,
    pid          BIGINT,
    kind         TEXT    NOT NULL,
    ip           TEXT,
    rhost        TEXT,
    port         BIGINT,
    user_name    TEXT,
    method       TEXT,
    invalid_user SMALLINT,
    count        BIGINT  NOT NULL DEFAULT 1
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_ip_ts ON events (ip, ts);

-- One row per remote address: running totals and its location at first sight.
CREATE TABLE ips (
    ip           TEXT    PRIMARY KEY,
    first_seen   BIGINT  NOT NULL,
    last_seen    BIGINT  NOT NULL,
    events       BIGINT  NOT NULL DEFAULT 0,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    failures     BIGINT  NOT NULL DEFAULT 0,
    successes    BIGINT  NOT NULL DEFAULT 0,
    probes       BIGINT  NOT NULL DEFAULT 0,
    country_code TEXT,
    country      TEXT,
    city         TEXT,
    lat          DOUBLE PRECISION,
    lon          DOUBLE PRECISION,
    asn          BIGINT,
    org          TEXT,
    last_sensor  TEXT,
    starred      SMALLINT NOT NULL DEFAULT 0,
    note         TEXT
);

-- Remote sensors: only the SHA-256 of a sensor's token is kept.
CREATE TABLE sensors (
    name           TEXT    PRIMARY KEY,
    token_sha256   BYTEA   NOT NULL UNIQUE,
    lat            DOUBLE PRECISION,
    lon            DOUBLE PRECISION,
    created        BIGINT  NOT NULL,
    revoked_at     BIGINT,
    last_seen      BIGINT,
    lines_read     BIGINT,
    events         BIGINT,
    unmatched      BIGINT,
    version        TEXT,
    spool_bytes    BIGINT,
    spool_batches  BIGINT,
    dropped_events BIGINT
);
