-- 0002: catalog core tables with their primary keys, unique and check constraints, foreign keys,
-- storage parameters and column comments: refresh_state, final_entities, refresh_keys,
-- refresh_state_references, relations, search, stitch_queue, locations, location_update_log,
-- catalog_generation_counter.
-- Corresponds to the final state of the catalog-backend Knex migrations 20200511113813_init.js through
-- 20261013000000_final_entity_generations.js (47 migrations), in particular
-- 20200520140700_location_update_log_table.js, 20201019130742_add_relations_table.js,
-- 20210302150147_refresh_state.js, 20210622104022_refresh_state_location_key.js,
-- 20210813143113_add_refresh_state_hash.js, 20210925102509_add_refresh_state_input_hash.js,
-- 20220616202842_refresh_keys.js, 20221109192547_search_add_original_value_column.js,
-- 20221201085245_add_last_updated_at_in_final_entities.js, 20230525141717_stitch_queue.js,
-- 20241003170511_alter_target_in_locations.js, 20241024104700_add_entity_ref_to_final_entities.js,
-- 20250514000000_refresh_state_references_big_increments.js, 20260214000000_search_fk_final_entities.js,
-- 20260215000000_move_stitch_queue.js, 20260403000000_add_location_entity_ref.js,
-- 20260608000000_search_autovacuum_and_ndistinct.js, 20260912000000_refresh_state_maintenance.js,
-- 20261007000000_stitch_failure_count.js and 20261013000000_final_entity_generations.js.
-- The definitions are copied from the real database (pg_dump --schema-only).
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE TABLE refresh_state (
    entity_id character varying(255) NOT NULL,
    entity_ref character varying(255) NOT NULL,
    unprocessed_entity text NOT NULL,
    processed_entity text,
    cache text,
    errors text NOT NULL,
    next_update_at timestamp with time zone NOT NULL,
    last_discovery_at timestamp with time zone NOT NULL,
    location_key text,
    result_hash text,
    unprocessed_hash text,
    CONSTRAINT refresh_state_pkey PRIMARY KEY (entity_id),
    CONSTRAINT refresh_state_entity_ref_uniq UNIQUE (entity_ref)
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.01');

COMMENT ON TABLE refresh_state IS 'Location refresh states';
COMMENT ON COLUMN refresh_state.entity_id IS 'Primary ID, also used as the uid of the entity';
COMMENT ON COLUMN refresh_state.entity_ref IS 'A reference to the entity for this refresh state';
COMMENT ON COLUMN refresh_state.unprocessed_entity IS 'The unprocessed entity (in original form) as JSON';
COMMENT ON COLUMN refresh_state.processed_entity IS 'The processed entity (not yet stitched) as JSON';
COMMENT ON COLUMN refresh_state.cache IS 'Cache information tied to refreshes of this entity';
COMMENT ON COLUMN refresh_state.errors IS 'JSON array containing all errors related to entity';
COMMENT ON COLUMN refresh_state.next_update_at IS 'Timestamp of when entity should be updated';
COMMENT ON COLUMN refresh_state.last_discovery_at IS 'The last timestamp that this entity was discovered';
COMMENT ON COLUMN refresh_state.location_key IS 'Opaque conflict resolution key';
COMMENT ON COLUMN refresh_state.result_hash IS 'A hash of the processed contents, used to avoid duplicate work';
COMMENT ON COLUMN refresh_state.unprocessed_hash IS 'A hash of the unprocessed contents';

CREATE TABLE final_entities (
    entity_id character varying(255) NOT NULL,
    hash character varying(255) NOT NULL,
    final_entity text,
    last_updated_at timestamp with time zone,
    entity_ref character varying(255) NOT NULL,
    generation bigint,
    CONSTRAINT final_entities_pkey PRIMARY KEY (entity_id),
    CONSTRAINT final_entities_entity_ref_uniq UNIQUE (entity_ref)
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.01');

COMMENT ON TABLE final_entities IS 'Final entities after processing and stitching';
COMMENT ON COLUMN final_entities.entity_id IS 'Entity ID -> refresh_state table';
COMMENT ON COLUMN final_entities.hash IS 'Stable hash of the entity data';
COMMENT ON COLUMN final_entities.final_entity IS 'The JSON encoded final entity';
COMMENT ON COLUMN final_entities.last_updated_at IS 'The time when final_entity changed';
COMMENT ON COLUMN final_entities.entity_ref IS 'The entity reference of the entity';

CREATE TABLE refresh_keys (
    entity_id character varying(255) NOT NULL,
    key character varying(255) NOT NULL
);

COMMENT ON TABLE refresh_keys IS 'This table contains relations between entities and keys to trigger refreshes with';
COMMENT ON COLUMN refresh_keys.entity_id IS 'A reference to the entity that the refresh key is tied to';
COMMENT ON COLUMN refresh_keys.key IS 'A reference to a key which should be used to trigger a refresh on this entity';

-- bigserial: Knex bigIncrements() (20250514000000_refresh_state_references_big_increments.js);
-- owns refresh_state_references_id_seq.
CREATE TABLE refresh_state_references (
    id bigserial NOT NULL,
    source_key text,
    source_entity_ref text,
    target_entity_ref text NOT NULL,
    CONSTRAINT refresh_state_references_pkey PRIMARY KEY (id)
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.01');

COMMENT ON TABLE refresh_state_references IS 'Edges between refresh state rows';
COMMENT ON COLUMN refresh_state_references.id IS 'Primary key to distinguish unique lines from each other';
COMMENT ON COLUMN refresh_state_references.source_key IS 'Opaque identifier for non-entity sources';
COMMENT ON COLUMN refresh_state_references.source_entity_ref IS 'EntityRef of entity sources';
COMMENT ON COLUMN refresh_state_references.target_entity_ref IS 'The EntityRef of the target entity.';

-- No primary key: every relation is stored in both directions (ownedBy/ownerOf, ...).
CREATE TABLE relations (
    originating_entity_id character varying(255) NOT NULL,
    source_entity_ref character varying(255) NOT NULL,
    type character varying(255) NOT NULL,
    target_entity_ref character varying(255) NOT NULL
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.01');

COMMENT ON TABLE relations IS 'All relations between entities';
COMMENT ON COLUMN relations.originating_entity_id IS 'The entity that provided the relation';
COMMENT ON COLUMN relations.source_entity_ref IS 'Entity reference of the source entity of the relation';
COMMENT ON COLUMN relations.type IS 'The type of the relation between the entities';
COMMENT ON COLUMN relations.target_entity_ref IS 'Entity reference of the target entity of the relation';

-- The catalog's own flattened key/value filter index (not the search plugin). No primary key.
CREATE TABLE search (
    entity_id character varying(255),
    key character varying(255) NOT NULL,
    value character varying(255),
    original_value character varying(255)
)
WITH (autovacuum_vacuum_scale_factor='0.01', autovacuum_analyze_scale_factor='0.01');

COMMENT ON TABLE search IS 'Flattened key-values from the entities, for filtering';
COMMENT ON COLUMN search.entity_id IS 'The entity that matches this key/value';
COMMENT ON COLUMN search.key IS 'A key that occurs in the entity';
COMMENT ON COLUMN search.value IS 'The corresponding value to match on';
COMMENT ON COLUMN search.original_value IS 'Holds the corresponding original case sensitive value';

CREATE TABLE stitch_queue (
    entity_ref character varying(255) NOT NULL,
    stitch_ticket character varying(255) NOT NULL,
    next_stitch_at timestamp with time zone NOT NULL,
    failure_count integer DEFAULT 0 NOT NULL,
    CONSTRAINT stitch_queue_pkey PRIMARY KEY (entity_ref)
);

COMMENT ON COLUMN stitch_queue.entity_ref IS 'The entity ref that needs stitching';
COMMENT ON COLUMN stitch_queue.stitch_ticket IS 'Changes with every new stitch request';
COMMENT ON COLUMN stitch_queue.next_stitch_at IS 'Timestamp of when entity should be stitched';

CREATE TABLE locations (
    id uuid NOT NULL,
    type character varying(255) NOT NULL,
    target text NOT NULL,
    location_entity_ref character varying(255) NOT NULL,
    CONSTRAINT locations_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE locations IS 'Registered locations that shall be continuously scanned for catalog item updates';
COMMENT ON COLUMN locations.id IS 'Auto-generated ID of the location';
COMMENT ON COLUMN locations.type IS 'The type of location';
COMMENT ON COLUMN locations.target IS 'The actual target of the location';
COMMENT ON COLUMN locations.location_entity_ref IS 'The entity ref of the corresponding Location kind entity, e.g. location:default/generated-<sha1hex>';

-- bigserial: Knex bigIncrements(); owns location_update_log_id_seq.
CREATE TABLE location_update_log (
    id bigserial NOT NULL,
    status text NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    message text,
    location_id uuid,
    entity_name text,
    CONSTRAINT location_update_log_pkey PRIMARY KEY (id),
    CONSTRAINT location_update_log_status_check CHECK ((status = ANY (ARRAY['success'::text, 'fail'::text])))
);

-- Single-row counter (id = 1) that the final_entities generation trigger (0004) draws from.
CREATE TABLE catalog_generation_counter (
    id integer NOT NULL,
    generation bigint NOT NULL,
    CONSTRAINT catalog_generation_counter_pkey PRIMARY KEY (id),
    CONSTRAINT catalog_generation_counter_generation_check CHECK ((generation >= 0)),
    CONSTRAINT catalog_generation_counter_id_check CHECK ((id = 1))
);

-- Foreign keys (tables above must exist first).
ALTER TABLE final_entities
    ADD CONSTRAINT final_entities_entity_id_foreign FOREIGN KEY (entity_id) REFERENCES refresh_state(entity_id) ON DELETE CASCADE;

ALTER TABLE refresh_keys
    ADD CONSTRAINT refresh_keys_entity_id_foreign FOREIGN KEY (entity_id) REFERENCES refresh_state(entity_id) ON DELETE CASCADE;

ALTER TABLE refresh_state_references
    ADD CONSTRAINT refresh_state_references_source_entity_ref_foreign FOREIGN KEY (source_entity_ref) REFERENCES refresh_state(entity_ref) ON DELETE CASCADE;

ALTER TABLE refresh_state_references
    ADD CONSTRAINT refresh_state_references_target_entity_ref_foreign FOREIGN KEY (target_entity_ref) REFERENCES refresh_state(entity_ref) ON DELETE CASCADE;

ALTER TABLE relations
    ADD CONSTRAINT relations_originating_entity_id_foreign FOREIGN KEY (originating_entity_id) REFERENCES refresh_state(entity_id) ON DELETE CASCADE;

ALTER TABLE search
    ADD CONSTRAINT search_entity_id_foreign FOREIGN KEY (entity_id) REFERENCES final_entities(entity_id) ON DELETE CASCADE;

ALTER TABLE location_update_log
    ADD CONSTRAINT location_update_log_location_id_foreign FOREIGN KEY (location_id) REFERENCES locations(id) ON UPDATE CASCADE ON DELETE CASCADE;
