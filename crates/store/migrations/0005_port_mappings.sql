-- Port mappings: a public port of a dedicated server forwarded to a container port. A public
-- port is taken once per server and protocol (upstream only kept it unique per container).

CREATE TABLE port_mappings (
    id @PK@,
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    container_id BIGINT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    proto TEXT NOT NULL,
    public_port BIGINT NOT NULL,
    private_port BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (server_id, proto, public_port),
    UNIQUE (container_id, proto, private_port)
);
