-- 0001: backend service tables that @backstage/backend-defaults creates in this plugin database
-- (or schema): backstage_backend_public_keys__keys and backstage_backend_tasks__tasks.
-- Corresponds to the service migrations 20240327104803_public_keys.js
-- (backstage_backend_public_keys__knex_migrations) and 20210928160613_init.js,
-- 20240712211735_nullable_next_run.js, 20250411000000_last_run.js
-- (backstage_backend_tasks__knex_migrations), in their final state.
-- Deliberately NOT created: the service Knex bookkeeping tables
-- backstage_backend_public_keys__knex_migrations(_lock) and backstage_backend_tasks__knex_migrations(_lock),
-- nor the plugin's own knex_migrations(_lock): those mark a database that real Backstage manages.
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

-- Backend scheduler: backstage_backend_tasks__tasks (one row per scheduled task id).
CREATE TABLE backstage_backend_tasks__tasks (
    id character varying(255) NOT NULL,
    settings_json text NOT NULL,
    next_run_start_at timestamp with time zone,
    current_run_ticket text,
    current_run_started_at timestamp with time zone,
    current_run_expires_at timestamp with time zone,
    last_run_error_json text,
    last_run_ended_at timestamp with time zone,
    CONSTRAINT backstage_backend_tasks__tasks_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE backstage_backend_tasks__tasks IS 'Tasks used for scheduling work on multiple workers';
COMMENT ON COLUMN backstage_backend_tasks__tasks.id IS 'The unique ID of this particular task';
COMMENT ON COLUMN backstage_backend_tasks__tasks.settings_json IS 'JSON serialized object with properties for this task';
COMMENT ON COLUMN backstage_backend_tasks__tasks.next_run_start_at IS 'The next time that the task should be started';
COMMENT ON COLUMN backstage_backend_tasks__tasks.current_run_ticket IS 'A unique ticket for the current task run';
COMMENT ON COLUMN backstage_backend_tasks__tasks.current_run_started_at IS 'The time that the current task run started';
COMMENT ON COLUMN backstage_backend_tasks__tasks.current_run_expires_at IS 'The time that the current task run will time out';
COMMENT ON COLUMN backstage_backend_tasks__tasks.last_run_error_json IS 'JSON serialized error object from the last task run, if it failed';
COMMENT ON COLUMN backstage_backend_tasks__tasks.last_run_ended_at IS 'The last time that the task ended';
