-- The second half of the customer API: domains, loopboxes, alarms, news and metrics.

CREATE TABLE domains (
    id @PK@,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX domains_customer ON domains (customer_id);

CREATE TABLE domain_tags (
    domain_id BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (domain_id, tag_id)
);
CREATE INDEX domain_tags_tag ON domain_tags (tag_id);

-- A loopbox's id is its loop device number on the node (/dev/loop<id>).
CREATE TABLE loopboxes (
    id @PK@,
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    mountpoint TEXT NOT NULL,
    ro BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (container_id, filename),
    UNIQUE (container_id, mountpoint)
);

CREATE TABLE loopbox_tags (
    loopbox_id BIGINT NOT NULL REFERENCES loopboxes (id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (loopbox_id, tag_id)
);
CREATE INDEX loopbox_tags_tag ON loopbox_tags (tag_id);

-- Each container keeps a ring of at most containers.max_alarms alarms, newest by unix.
CREATE TABLE alarms (
    id @PK@,
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    level BIGINT NOT NULL,
    color TEXT NOT NULL DEFAULT '#ffffff',
    class TEXT,
    vassal TEXT,
    filename TEXT,
    func TEXT,
    line BIGINT,
    unix BIGINT NOT NULL,
    msg TEXT NOT NULL
);
CREATE INDEX alarms_container_unix ON alarms (container_id, unix, id);

CREATE TABLE news (
    id @PK@,
    content TEXT NOT NULL,
    public BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX news_created ON news (created_at);

-- Metrics: one row per sample (a node posts one every 5 minutes per container and metric),
-- clustered by (owner, metric, time) so that appending is one insert and a day is one range
-- scan of about 288 rows.
CREATE TABLE container_metrics (
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    unix BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (container_id, metric, unix)
) @WITHOUT_ROWID@;

CREATE TABLE domain_metrics (
    domain_id BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    unix BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (domain_id, metric, unix, container_id)
) @WITHOUT_ROWID@;
CREATE INDEX domain_metrics_container ON domain_metrics (container_id, metric, unix);
