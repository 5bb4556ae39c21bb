-- The node API: server credentials, the domain-keys revision and observed container states.

-- One row per server that has a join token or a credential. Both are random secrets that
-- are shown once; only their SHA-256 (hex) is kept.
CREATE TABLE server_credentials (
    server_id BIGINT PRIMARY KEY REFERENCES servers (id) ON DELETE CASCADE,
    join_token_hash TEXT UNIQUE,
    credential_hash TEXT UNIQUE,
    updated_at BIGINT NOT NULL
);

-- Row 2 of berth_revision: the revision of the last change to the domain → public key map,
-- which every server's router follows. It starts at the current revision, which covers
-- every domain that already exists.
INSERT INTO berth_revision (id, value) SELECT 2, value FROM berth_revision WHERE id = 1;

-- What a server last reported of each of its containers.
CREATE TABLE container_status (
    container_id BIGINT PRIMARY KEY REFERENCES containers (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    running_since_reboot BIGINT NOT NULL,
    detail TEXT,
    disk_used BIGINT,
    reported_at BIGINT NOT NULL
);
