-- 0001: backend service table that @backstage/backend-defaults creates in this plugin database
-- (or schema): backstage_backend_public_keys__keys. The real auth database has no scheduler table
-- (backstage_backend_tasks__tasks), so none is created here.
-- Corresponds to the service migration 20240327104803_public_keys.js
-- (backstage_backend_public_keys__knex_migrations), in its final state.
-- Deliberately NOT created: backstage_backend_public_keys__knex_migrations(_lock) and the plugin's own
-- knex_migrations(_lock): those mark a database that real Backstage manages.
-- No schema qualifier: everything is created in the first schema of the current search_path.

-- Backend public-key store: backstage_backend_public_keys__keys (the key/value JWKS store of
-- @backstage/backend-defaults auth service, one per plugin database/schema).
CREATE TABLE backstage_backend_public_keys__keys (
    id character varying(255) NOT NULL,
    key text NOT NULL,
    expires_at character varying(255) NOT NULL,
    CONSTRAINT backstage_backend_public_keys__keys_pkey PRIMARY KEY (id)
);

COMMENT ON COLUMN backstage_backend_public_keys__keys.id IS 'The unique ID of a public key';
COMMENT ON COLUMN backstage_backend_public_keys__keys.key IS 'JSON serialized public key';
COMMENT ON COLUMN backstage_backend_public_keys__keys.expires_at IS 'The time that the key expires';
