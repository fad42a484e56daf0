-- Aggregates maintained on ingest, so that statistics and the map read a few rows per hour
-- instead of every event. `hour` counts hours since the Unix epoch (UTC). An event is counted
-- under the country and network its address had when it was stored.

-- Per hour × sensor × kind: totals, the series and top sensors.
CREATE TABLE rollup_hour (
    hour         INTEGER NOT NULL,
    sensor       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    events       INTEGER NOT NULL,
    PRIMARY KEY (hour, sensor, kind)
) WITHOUT ROWID;

-- Per hour × country (located addresses only).
CREATE TABLE rollup_country_hour (
    hour         INTEGER NOT NULL,
    country_code TEXT    NOT NULL,
    country      TEXT,                      -- the country's name, for top lists
    events       INTEGER NOT NULL,
    PRIMARY KEY (hour, country_code)
) WITHOUT ROWID;

-- Per hour × user name (keyed by the first 16 bytes of the name's SHA-256).
CREATE TABLE rollup_user_hour (
    hour         INTEGER NOT NULL,
    user_key     BLOB    NOT NULL,
    user_name    TEXT    NOT NULL,
    events       INTEGER NOT NULL,
    PRIMARY KEY (hour, user_key)
) WITHOUT ROWID;

-- Per hour × network.
CREATE TABLE rollup_asn_hour (
    hour         INTEGER NOT NULL,
    asn          INTEGER NOT NULL,
    org          TEXT,
    events       INTEGER NOT NULL,
    PRIMARY KEY (hour, asn)
) WITHOUT ROWID;

-- Per hour × address: the map for a window and the top addresses.
CREATE TABLE rollup_ip_hour (
    hour         INTEGER NOT NULL,
    ip           TEXT    NOT NULL,
    events       INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    successes    INTEGER NOT NULL,
    probes       INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    located      INTEGER NOT NULL,          -- 1 when the address has coordinates
    PRIMARY KEY (hour, ip)
) WITHOUT ROWID;
-- All-time totals, for the "all" window: a few rows however long the history.
CREATE TABLE total_users (
    user_key     BLOB    PRIMARY KEY,
    user_name    TEXT    NOT NULL,
    events       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX total_users_events ON total_users (events);
CREATE TABLE total_asns (
    asn          INTEGER PRIMARY KEY,
    org          TEXT,
    events       INTEGER NOT NULL
);
CREATE TABLE total_countries (
    country_code TEXT    PRIMARY KEY,
    country      TEXT,
    events       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ips_events ON ips (events);

-- Events stored before this migration are folded in by the store when it opens.
