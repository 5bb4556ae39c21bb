-- Custom distros (uwsgi.it's CustomDistro): a root file system a customer keeps in
-- <home of the storage container>/distros/<path>, booted by their other containers of the
-- same server (containers.custom_distro_id, already there since 0001).

CREATE TABLE custom_distros (
    id @PK@,
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    uuid TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (container_id, name),
    UNIQUE (container_id, path)
);
