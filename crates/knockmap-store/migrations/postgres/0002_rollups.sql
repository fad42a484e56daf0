-- Aggregates maintained on ingest (see SQLite's 0005_rollups.sql for the meaning of each).
CREATE TABLE rollup_hour (
    hour         BIGINT NOT NULL,
    sensor       TEXT   NOT NULL,
    country_code TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    events       BIGINT NOT NULL,
    country      TEXT,
    PRIMARY KEY (hour, sensor, country_code, kind)
);
CREATE TABLE rollup_user_hour (
    hour         BIGINT NOT NULL,
    user_key     BYTEA  NOT NULL,
    user_name    TEXT   NOT NULL,
    events       BIGINT NOT NULL,
    PRIMARY KEY (hour, user_key)
);
CREATE TABLE rollup_asn_hour (
    hour         BIGINT NOT NULL,
    asn          BIGINT NOT NULL,
    org          TEXT,
    events       BIGINT NOT NULL,
    PRIMARY KEY (hour, asn)
);
CREATE TABLE rollup_ip_hour (
    hour         BIGINT NOT NULL,
    ip           TEXT   NOT NULL,
    events       BIGINT NOT NULL,
    failures     BIGINT NOT NULL,
    successes    BIGINT NOT NULL,
    probes       BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    PRIMARY KEY (hour, ip)
);
