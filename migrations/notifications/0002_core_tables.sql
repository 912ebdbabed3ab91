-- 0002: notifications-backend tables notification, broadcast, broadcast_user_status and user_settings,
-- with primary keys, unique constraints and the broadcast_user_status -> broadcast foreign key.
-- Corresponds to the final state of the notifications-backend Knex migrations 20231215_init.js,
-- 20240221_removeDone.js, 20240313_broadcast.js, 20240808_settings.js, 20240902_addIcon.js,
-- 20250317_addTopic.js and 20260621_addMetadata.js.
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE TABLE notification (
    id uuid NOT NULL,
    "user" character varying(255) NOT NULL,
    title character varying(255) NOT NULL,
    description text,
    severity character varying(8) NOT NULL,
    link text,
    origin character varying(255) NOT NULL,
    scope character varying(255),
    topic character varying(255),
    created timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated timestamp with time zone,
    read timestamp with time zone,
    saved timestamp with time zone,
    icon character varying(255),
    metadata text,
    CONSTRAINT notification_pkey PRIMARY KEY (id)
);

CREATE TABLE broadcast (
    id uuid NOT NULL,
    title character varying(255) NOT NULL,
    description text,
    severity character varying(8) NOT NULL,
    link text,
    origin character varying(255) NOT NULL,
    scope character varying(255),
    topic character varying(255),
    created timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated timestamp with time zone,
    icon character varying(255),
    metadata text,
    CONSTRAINT broadcast_pkey PRIMARY KEY (id)
);

-- Per-user read/saved state of a broadcast. No primary key; unique per (broadcast, user).
CREATE TABLE broadcast_user_status (
    broadcast_id uuid NOT NULL,
    "user" character varying(255) NOT NULL,
    read timestamp with time zone,
    saved timestamp with time zone,
    CONSTRAINT broadcast_user_idx UNIQUE (broadcast_id, "user"),
    CONSTRAINT broadcast_user_status_broadcast_id_foreign FOREIGN KEY (broadcast_id) REFERENCES broadcast(id) ON DELETE CASCADE
);

-- No primary key; unique on settings_key_hash.
CREATE TABLE user_settings (
    "user" character varying(255) NOT NULL,
    channel character varying(255) NOT NULL,
    origin character varying(255) NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    topic character varying(255),
    settings_key_hash character varying(64) NOT NULL,
    CONSTRAINT user_settings_unique_idx UNIQUE (settings_key_hash)
);
