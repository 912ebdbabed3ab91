-- 0003: auth-backend secondary indexes on sessions, oauth_authorization_sessions and offline_sessions.
-- Corresponds to the final state of the auth-backend migrations (up to 20261030120000_remove_dcr.js);
-- judging by their names the indexes come from 20230428155633_sessions.js (sessions_*),
-- 20250909120000_oidc_client_registration.js (oauth_authorization_sessions_*) and
-- 20251020000000_offline_sessions.js (offline_sessions_*). Definitions copied from the real database.
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX sessions_expired_idx ON sessions USING btree (expired);
-- Redundant with sessions_pkey, but present in real Backstage.
CREATE INDEX sessions_sid_idx ON sessions USING btree (sid);

CREATE INDEX oauth_authorization_sessions_client_id_user_entity_ref_index ON oauth_authorization_sessions USING btree (client_id, user_entity_ref);
CREATE INDEX oauth_authorization_sessions_status_expires_at_index ON oauth_authorization_sessions USING btree (status, expires_at);

CREATE INDEX offline_sessions_created_idx ON offline_sessions USING btree (created_at);
CREATE INDEX offline_sessions_last_used_idx ON offline_sessions USING btree (last_used_at);
CREATE INDEX offline_sessions_oidc_client_idx ON offline_sessions USING btree (oidc_client_id);
CREATE INDEX offline_sessions_user_idx ON offline_sessions USING btree (user_entity_ref);
