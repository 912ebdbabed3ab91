-- 0004: catalog view, generation function and trigger, and the generation counter's single row:
--   * view location_update_log_latest (latest log row per location),
--   * function final_entities_assign_generation_at_commit() and the deferred constraint trigger
--     final_entities_assign_generation_at_commit on final_entities,
--   * the catalog_generation_counter row (id = 1) the trigger requires.
-- Corresponds to catalog-backend migrations 20200527114117_location_update_log_latest_view.js,
-- 20200721115244_location_update_log_latest_deduplicate.js, 20200805163904_location_update_log_duplication_fix.js
-- (the view, final definition) and 20261013000000_final_entity_generations.js (function, trigger, counter).
-- No schema qualifier: everything is created in the first schema of the current search_path.

-- GROUP BY t1.id is valid only because id is the primary key of location_update_log (0002).
CREATE VIEW location_update_log_latest AS
 SELECT t1.id,
    t1.status,
    t1.created_at,
    t1.message,
    t1.location_id,
    t1.entity_name
   FROM (location_update_log t1
     JOIN ( SELECT location_update_log.location_id,
            max(location_update_log.id) AS maxid
           FROM location_update_log
          GROUP BY location_update_log.location_id) t2 ON (((t1.location_id = t2.location_id) AND (t1.id = t2.maxid))))
  GROUP BY t1.location_id, t1.id
  ORDER BY t1.created_at DESC;

-- Assigns final_entities.generation at COMMIT time: every insert of a final entity, and every update
-- of its final_entity column, draws the next number from catalog_generation_counter and stamps it on
-- the row. The trigger is a DEFERRABLE INITIALLY DEFERRED constraint trigger, so the number is taken
-- when the stitching transaction commits (generation order = publication order) and the counter row
-- is locked only briefly. Without the counter row the commit fails.
--
-- The body uses unqualified table names. The real database shows
-- "SET search_path TO '$user', 'public'", which is what "SET search_path FROM CURRENT" records under
-- the default search_path; FROM CURRENT pins the search_path this migration runs under instead, so the
-- function also finds its tables when the plugin lives in a non-public schema.
CREATE FUNCTION final_entities_assign_generation_at_commit() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
    DECLARE allocated bigint;
    BEGIN
      UPDATE catalog_generation_counter SET generation = generation + 1
      WHERE id = 1 RETURNING generation INTO allocated;
      IF allocated IS NULL THEN
        RAISE EXCEPTION 'Catalog publication generation counter is missing';
      END IF;
      UPDATE final_entities SET generation = allocated
      WHERE entity_id = NEW.entity_id;
      RETURN NULL;
    END
    $$;

CREATE CONSTRAINT TRIGGER final_entities_assign_generation_at_commit AFTER INSERT OR UPDATE OF final_entity ON final_entities DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION final_entities_assign_generation_at_commit();

-- The counter's only row. Its value is data, not schema (the reference dump is schema-only), so the
-- starting value 0 is an assumption; the CHECK constraints allow exactly id = 1, generation >= 0.
INSERT INTO catalog_generation_counter (id, generation) VALUES (1, 0);
