-- 0003: search-backend-module-pg indexes on documents: GIN on body (full text) and on document (jsonb),
-- btree on type.
-- Corresponds to search-backend-module-pg migrations 20210311110000_init.js and
-- 20210727180000_delta_update.js, in their final state.
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX documents_body_index ON documents USING gin (body);
CREATE INDEX documents_document_index ON documents USING gin (document);
CREATE INDEX documents_type_index ON documents USING btree (type);
