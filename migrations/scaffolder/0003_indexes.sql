-- 0003: scaffolder secondary index task_events_task_id_idx.
-- Corresponds to scaffolder-backend migration 20210120143715_init.js (task_events.task_id index).
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX task_events_task_id_idx ON task_events USING btree (task_id);
