-- berth's first schema. Written once for both backends: @PK@ becomes the auto-increment
-- primary key of the backend. Booleans are BIGINT 0/1 and times are BIGINT unix seconds, so
-- that one query layer reads both backends the same way.

CREATE TABLE berth_revision (
    id BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO berth_revision (id, value) VALUES (1, 0);

CREATE TABLE customers (
    id @PK@,
    uuid TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    company TEXT,
    vat TEXT,
    rsa_private_key TEXT NOT NULL,
    rsa_public_key TEXT NOT NULL,
    admin_note TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id @PK@,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_active BIGINT NOT NULL DEFAULT 1,
    is_staff BIGINT NOT NULL DEFAULT 0,
    customer_id BIGINT UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);

CREATE TABLE datacenters (
    id @PK@,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    note TEXT
);

CREATE TABLE servers (
    id @PK@,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL UNIQUE,
    memory BIGINT NOT NULL,
    storage BIGINT NOT NULL,
    used_memory BIGINT NOT NULL DEFAULT 0,
    used_storage BIGINT NOT NULL DEFAULT 0,
    weight BIGINT NOT NULL DEFAULT 9999,
    owner_id BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    datacenter_id BIGINT REFERENCES datacenters (id) ON DELETE SET NULL,
    etc_resolv_conf TEXT,
    etc_hosts TEXT,
    note TEXT,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE distros (
    id @PK@,
    name TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL UNIQUE,
    note TEXT
);

CREATE TABLE legions (
    id @PK@,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    uuid TEXT NOT NULL UNIQUE,
    customer_id BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    legion_key TEXT,
    quorum BIGINT NOT NULL DEFAULT 0,
    note TEXT
);

CREATE TABLE legion_nodes (
    legion_id BIGINT NOT NULL REFERENCES legions (id) ON DELETE CASCADE,
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    weight BIGINT NOT NULL DEFAULT 9999,
    PRIMARY KEY (legion_id, server_id)
);

CREATE TABLE containers (
    id @PK@,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    server_id BIGINT NOT NULL REFERENCES servers (id),
    distro_id BIGINT REFERENCES distros (id),
    memory BIGINT NOT NULL CHECK (memory > 0),
    storage BIGINT NOT NULL CHECK (storage > 0),
    ssh_keys TEXT NOT NULL DEFAULT '',
    jid TEXT,
    jid_secret TEXT,
    jid_destinations TEXT,
    pushover_user TEXT,
    pushover_token TEXT,
    pushover_sound TEXT,
    pushbullet_token TEXT,
    slack_webhook TEXT,
    quota_threshold BIGINT NOT NULL DEFAULT 90,
    alarm_freq BIGINT NOT NULL DEFAULT 60,
    max_alarms BIGINT NOT NULL DEFAULT 100,
    alarm_key TEXT,
    nofollow BIGINT NOT NULL DEFAULT 0,
    dmz BIGINT NOT NULL DEFAULT 0,
    custom_distros_storage BIGINT NOT NULL DEFAULT 0,
    custom_distro_id BIGINT,
    accounted BIGINT NOT NULL DEFAULT 0,
    note TEXT,
    admin_note TEXT,
    admin_order TEXT,
    secret_uuid TEXT,
    last_reboot BIGINT NOT NULL,
    ssh_keys_mtime BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX containers_customer ON containers (customer_id);
CREATE INDEX containers_server ON containers (server_id);

CREATE TABLE container_links (
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    to_container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    PRIMARY KEY (container_id, to_container_id),
    CHECK (container_id <> to_container_id)
);
CREATE INDEX container_links_to ON container_links (to_container_id);

CREATE TABLE tags (
    id @PK@,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    note TEXT,
    UNIQUE (customer_id, name)
);

CREATE TABLE container_tags (
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (container_id, tag_id)
);
CREATE INDEX container_tags_tag ON container_tags (tag_id);
