-- 0002: search-backend-module-pg table documents (type, document jsonb, generated tsvector body,
-- hash bytea primary key) with column comments.
-- Corresponds to the final state of the search-backend-module-pg Knex migrations 20210311110000_init.js
-- and 20210727180000_delta_update.js.
-- The temporary documents_to_insert table that indexing uses briefly is not part of the schema.
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- No schema qualifier: everything is created in the first schema of the current search_path
-- (the 'english' text search configuration is pg_catalog's).

CREATE TABLE documents (
    type text NOT NULL,
    document jsonb NOT NULL,
    -- Stored generated column: title weighted A, text B, every other field (minus location) C.
    body tsvector GENERATED ALWAYS AS (((setweight(to_tsvector('english'::regconfig, (document ->> 'title'::text)), 'A'::"char") || setweight(to_tsvector('english'::regconfig, (document ->> 'text'::text)), 'B'::"char")) || setweight(to_tsvector('english'::regconfig, (((document - 'location'::text) - 'title'::text) - 'text'::text)), 'C'::"char"))) STORED NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT documents_pkey PRIMARY KEY (hash)
);

COMMENT ON TABLE documents IS 'Optimize filter queries on documents';
COMMENT ON COLUMN documents.type IS 'The index type of the document';
COMMENT ON COLUMN documents.document IS 'The document';
