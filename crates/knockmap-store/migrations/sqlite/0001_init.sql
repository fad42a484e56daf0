-- One row per event line. `id` is derived from (sensor, source fingerprint, byte offset), so
-- ingesting the same line twice stores it once. No uniqueness on time: many attempts share a
-- second.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    id           BLOB    NOT NULL UNIQUE,
    ts           INTEGER NOT NULL,          -- microseconds since the Unix epoch, UTC
    sensor       TEXT    NOT NULL,
    host         TEXT,
    pid          INTEGER,
    kind         TEXT    NOT NULL,
    ip           TEXT,                      -- canonical text, IPv4 or IPv6
    rhost        TEXT,
    port         INTEGER,
    user         TEXT,
    method       TEXT,
    invalid_user INTEGER,
    count        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_ip_ts ON events (ip, ts);

-- One row per remote address: running totals and its location at first sight.
CREATE TABLE ips (
    ip           TEXT    PRIMARY KEY,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    events       INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    failures     INTEGER NOT NULL DEFAULT 0,
    successes    INTEGER NOT NULL DEFAULT 0,
    probes       INTEGER NOT NULL DEFAULT 0,
    country_code TEXT,
    country      TEXT,
    city         TEXT,
    lat          REAL,
    lon          REAL,
    asn          INTEGER,
    org          TEXT,
    last_sensor  TEXT,
    starred      INTEGER NOT NULL DEFAULT 0,
    note         TEXT
);
