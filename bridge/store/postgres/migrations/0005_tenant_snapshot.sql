-- The tenant snapshot: a listing of Gainsight's join keys, hashed (HMAC
-- with the snapshot's salt over the field name and the folded value), with
-- the GSID and status. No key value is stored: the store keeps no personal
-- data of Gainsight users the bridge does not manage.
CREATE TABLE snapshot (
    id        BIGINT PRIMARY KEY CHECK (id = 1),
    taken     BIGINT NOT NULL,
    total     BIGINT NOT NULL,
    salt      TEXT   NOT NULL,
    key_count BIGINT NOT NULL
);
CREATE TABLE snapshot_keys (
    key_hash TEXT    NOT NULL,
    gsid     TEXT    NOT NULL,
    active   BOOLEAN NOT NULL,
    PRIMARY KEY (key_hash, gsid)
);
