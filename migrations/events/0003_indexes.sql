-- 0003: events-backend secondary index event_bus_events_topic_idx.
-- Corresponds to the events-backend Knex migration 20240523100528_init.js.
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX event_bus_events_topic_idx ON event_bus_events USING btree (topic);
