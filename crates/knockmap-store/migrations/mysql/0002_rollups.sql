-- Aggregates maintained on ingest (see SQLite's 0005_rollups.sql for the meaning of each).
CREATE TABLE rollup_hour (
    hour         BIGINT       NOT NULL,
    sensor       VARCHAR(255) NOT NULL,
    kind         VARCHAR(32)  NOT NULL,
    events       BIGINT       NOT NULL,
    PRIMARY KEY (hour, sensor, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE rollup_country_hour (
    hour         BIGINT       NOT NULL,
    country_code VARCHAR(8)   NOT NULL,
    country      TEXT,
    events       BIGINT       NOT NULL,
    PRIMARY KEY (hour, country_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE rollup_user_hour (
    hour         BIGINT     NOT NULL,
    user_key     TINYBLOB   NOT NULL,
    user_name    MEDIUMTEXT NOT NULL,
    events       BIGINT     NOT NULL,
    PRIMARY KEY (hour, user_key(16))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE rollup_asn_hour (
    hour         BIGINT NOT NULL,
    asn          BIGINT NOT NULL,
    org          TEXT,
    events       BIGINT NOT NULL,
    PRIMARY KEY (hour, asn)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE rollup_ip_hour (
    hour         BIGINT      NOT NULL,
    ip           VARCHAR(45) NOT NULL,
    events       BIGINT      NOT NULL,
    failures     BIGINT      NOT NULL,
    successes    BIGINT      NOT NULL,
    probes       BIGINT      NOT NULL,
    last_seen    BIGINT      NOT NULL,
    located      SMALLINT    NOT NULL,
    PRIMARY KEY (hour, ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE total_users (
    user_key     TINYBLOB   NOT NULL,
    user_name    MEDIUMTEXT NOT NULL,
    events       BIGINT     NOT NULL,
    PRIMARY KEY (user_key(16)),
    KEY total_users_events (events)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE total_asns (
    asn          BIGINT NOT NULL PRIMARY KEY,
    org          TEXT,
    events       BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE total_countries (
    country_code VARCHAR(8) NOT NULL PRIMARY KEY,
    country      TEXT,
    events       BIGINT     NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ips_events ON ips (events);
