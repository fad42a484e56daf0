-- What outside services (Shodan) said about an address, cached with the time of the answer.
-- `status` is ok or not_found; `body` the answer, reduced to what the page shows (JSON).
CREATE TABLE lookups (
    ip           TEXT    NOT NULL,
    service      TEXT    NOT NULL,
    fetched_at   INTEGER NOT NULL,          -- microseconds since the epoch
    status       TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (ip, service)
) WITHOUT ROWID;
