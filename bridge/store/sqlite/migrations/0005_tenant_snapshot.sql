-- The tenant snapshot: a listing of Gainsight's join keys, hashed (HMAC
-- with the snapshot's salt over the field name and the folded value), with
-- the GSID and status. No key value is stored: the store keeps no personal
-- data of Gainsight users the bridge does not manage.
CREATE TABLE snapshot (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    taken     INTEGER NOT NULL,
    total     INTEGER NOT NULL,
    salt      TEXT   NOT NULL,
    key_count INTEGER NOT NULL
);
CREATE TABLE snapshot_keys (
    key_hash TEXT    NOT NULL,
    gsid     TEXT    NOT NULL,
    active   INTEGER NOT NULL,
    PRIMARY KEY (key_hash, gsid)
);
