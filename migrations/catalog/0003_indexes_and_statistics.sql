-- 0003: catalog secondary indexes and the extended statistics object on search(key, value).
-- Corresponds to the final state (after all 47 catalog-backend migrations, up to
-- 20261013000000_final_entity_generations.js) of the index-related migrations; judging by their names
-- chiefly 20201210185851_fk_index.js, 20210209121210_locations_fk_index.js, 20210302150147_refresh_state.js,
-- 20220616202842_refresh_keys.js, 20230525141717_stitch_queue.js, 20240130092632_search_index.js,
-- 20241111000000_drop_redundant_indices.js, 20260215000000_move_stitch_queue.js,
-- 20260510000000_search_indices_and_dedup.js, 20260516000000_relations_target_index.js,
-- 20260519000000_search_extended_statistics.js, 20260609000000_drop_search_entity_id_idx.js and
-- 20261013000000_final_entity_generations.js (final_entities_generation_idx). The definitions are copied
-- from the real database; which migration created which index is inferred from the names.
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX refresh_state_next_update_at_idx ON refresh_state USING btree (next_update_at);

CREATE INDEX final_entities_generation_idx ON final_entities USING btree (generation) INCLUDE (entity_ref) WHERE (generation IS NOT NULL);

CREATE INDEX refresh_keys_entity_id_idx ON refresh_keys USING btree (entity_id);
CREATE INDEX refresh_keys_key_idx ON refresh_keys USING btree (key);

CREATE INDEX refresh_state_references_source_entity_ref_idx ON refresh_state_references USING btree (source_entity_ref);
CREATE INDEX refresh_state_references_source_key_idx ON refresh_state_references USING btree (source_key);
CREATE INDEX refresh_state_references_target_entity_ref_idx ON refresh_state_references USING btree (target_entity_ref);

-- relations is indexed on the originating entity and on both the source and the target ref.
CREATE INDEX relations_source_entity_id_idx ON relations USING btree (originating_entity_id);
CREATE INDEX relations_source_entity_ref_idx ON relations USING btree (source_entity_ref);
CREATE INDEX relations_target_entity_ref_idx ON relations USING btree (target_entity_ref);

CREATE UNIQUE INDEX search_entity_key_value_idx ON search USING btree (entity_id, key, value);
CREATE INDEX search_facets_covering_idx ON search USING btree (key, original_value, entity_id) WHERE (original_value IS NOT NULL);
CREATE INDEX search_key_value_entity_idx ON search USING btree (key, value, entity_id);

CREATE INDEX stitch_queue_next_stitch_at_idx ON stitch_queue USING btree (next_stitch_at);

CREATE INDEX update_log_location_id_idx ON location_update_log USING btree (location_id);

-- Extended (ndistinct/dependencies/mcv) statistics on search(key, value).
CREATE STATISTICS search_key_value_stats ON key, value FROM search;
