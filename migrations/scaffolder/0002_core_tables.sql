-- 0002: scaffolder tables tasks and task_events, with primary keys, the task_events -> tasks foreign key
-- and column comments.
-- Corresponds to the final state of the scaffolder-backend Knex migrations 20210120143715_init.js,
-- 20210409225200_secrets.js (tasks.secrets), 20220129100000_created_by.js (tasks.created_by),
-- 20240203232000_state.js (tasks.state) and 20240401213200_workspace.js (tasks.workspace).
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- Note: tasks has no index on created_at or status, as in real Backstage.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE TABLE tasks (
    id uuid NOT NULL,
    spec text NOT NULL,
    status text NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    last_heartbeat_at timestamp with time zone,
    secrets text,
    created_by text,
    state text,
    workspace bytea,
    CONSTRAINT tasks_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE tasks IS 'The table of scaffolder tasks';
COMMENT ON COLUMN tasks.id IS 'The ID of the task';
COMMENT ON COLUMN tasks.spec IS 'A JSON encoded task specification';
COMMENT ON COLUMN tasks.status IS 'The current status of the task';
COMMENT ON COLUMN tasks.created_at IS 'The timestamp when this task was created';
COMMENT ON COLUMN tasks.last_heartbeat_at IS 'The last timestamp when a heartbeat was received';
COMMENT ON COLUMN tasks.secrets IS 'JSON encoded secrets to authenticate tasks with';
COMMENT ON COLUMN tasks.created_by IS 'An entityRef of the user who created the task';
COMMENT ON COLUMN tasks.state IS 'A state of the checkpoints';
COMMENT ON COLUMN tasks.workspace IS 'A snapshot of the workspace';

-- bigserial: Knex bigIncrements(); owns task_events_id_seq.
CREATE TABLE task_events (
    id bigserial NOT NULL,
    task_id uuid NOT NULL,
    body text NOT NULL,
    event_type text NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT task_events_pkey PRIMARY KEY (id),
    CONSTRAINT task_events_task_id_foreign FOREIGN KEY (task_id) REFERENCES tasks(id) ON DELETE CASCADE
);

COMMENT ON TABLE task_events IS 'The event stream a given task';
COMMENT ON COLUMN task_events.id IS 'The ID of the event';
COMMENT ON COLUMN task_events.task_id IS 'The task that generated the event';
COMMENT ON COLUMN task_events.body IS 'The JSON encoded body of the event';
COMMENT ON COLUMN task_events.event_type IS 'The type of event';
COMMENT ON COLUMN task_events.created_at IS 'The timestamp when this event was generated';
