-- The schema of SQLite's migrations 0001 to 0004 in one step, for MariaDB and MySQL. Times are
-- microseconds since the Unix epoch, UTC; flags are 0 or 1. Text compares byte for byte
-- (utf8mb4_bin): `root` and `Root` are different user names. Attacker-controlled text is
-- TEXT/MEDIUMTEXT so that nothing is ever truncated. Binary values are TINYBLOB, not BINARY:
-- MySQL reports BINARY columns as strings, and they are not text.

-- One row per event line. `id` is derived from (sensor, source fingerprint, byte offset), so
-- ingesting the same line twice stores it once.
CREATE TABLE events (
    seq          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    id           TINYBLOB     NOT NULL,
    ts           BIGINT       NOT NULL,
    sensor       VARCHAR(255) NOT NULL,
    host         TEXT,
    pid          BIGINT,
    kind         VARCHAR(32)  NOT NULL,
    ip           VARCHAR(45),
    rhost        MEDIUMTEXT,
    port         BIGINT,
    user_name    MEDIUMTEXT,
    method       TEXT,
    invalid_user SMALLINT,
    count        BIGINT       NOT NULL DEFAULT 1,
    UNIQUE KEY events_id (id(16)),
    KEY events_ts (ts),
    KEY events_ip_ts (ip, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per remote address: running totals and its location at first sight.
CREATE TABLE ips (
    ip           VARCHAR(45)  NOT NULL PRIMARY KEY,
    first_seen   BIGINT       NOT NULL,
    last_seen    BIGINT       NOT NULL,
    events       BIGINT       NOT NULL DEFAULT 0,
    attempts     BIGINT       NOT NULL DEFAULT 0,
    failures     BIGINT       NOT NULL DEFAULT 0,
    successes    BIGINT       NOT NULL DEFAULT 0,
    probes       BIGINT       NOT NULL DEFAULT 0,
    country_code VARCHAR(8),
    country      TEXT,
    city         TEXT,
    lat          DOUBLE,
    lon          DOUBLE,
    asn          BIGINT,
    org          TEXT,
    last_sensor  VARCHAR(255),
    starred      SMALLINT     NOT NULL DEFAULT 0,
    note         MEDIUMTEXT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Remote sensors: only the SHA-256 of a sensor's token is kept.
CREATE TABLE sensors (
    name           VARCHAR(255) NOT NULL PRIMARY KEY,
    token_sha256   TINYBLOB     NOT NULL,
    lat            DOUBLE,
    lon            DOUBLE,
    created        BIGINT       NOT NULL,
    revoked_at     BIGINT,
    last_seen      BIGINT,
    lines_read     BIGINT,
    events         BIGINT,
    unmatched      BIGINT,
    version        TEXT,
    spool_bytes    BIGINT,
    spool_batches  BIGINT,
    dropped_events BIGINT,
    UNIQUE KEY sensors_token (token_sha256(32))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
