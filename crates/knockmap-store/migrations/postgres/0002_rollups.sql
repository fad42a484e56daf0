-- Aggregates maintained on ingest (see SQLite's 0005_rollups.sql for the meaning of each).
CREATE TABLE rollup_hour (
    hour         BIGINT NOT NULL,
    sensor       TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    events       BIGINT NOT NULL,
    PRIMARY KEY (hour, sensor, kind)
);
CREATE TABLE rollup_country_hour (
    hour         BIGINT NOT NULL,
    country_code TEXT   NOT NULL,
    country      TEXT,
    events       BIGINT NOT NULL,
    PRIMARY KEY (hour, country_code)
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
    located      SMALLINT NOT NULL,
    PRIMARY KEY (hour, ip)
);
CREATE TABLE total_users (
    user_key     BYTEA  PRIMARY KEY,
    user_name    TEXT   NOT NULL,
    events       BIGINT NOT NULL
);
CREATE INDEX total_users_events ON total_users (events);
CREATE TABLE total_asns (
    asn          BIGINT PRIMARY KEY,
    org          TEXT,
    events       BIGINT NOT NULL
);
CREATE TABLE total_countries (
    country_code TEXT   PRIMARY KEY,
    country      TEXT,
    events       BIGINT NOT NULL
);
CREATE INDEX ips_events ON ips (events);
