-- 0003: notifications-backend secondary indexes on notification, broadcast and user_settings.
-- Corresponds to notifications-backend migrations 20231215_init.js, 20240313_broadcast.js and
-- 20240808_settings.js, in their final state (broadcast_cope_origin_idx is spelled so upstream).
-- Plain CREATE INDEX (no CONCURRENTLY) so the file runs inside one transaction.
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE INDEX notification_user_idx ON notification USING btree ("user");
CREATE INDEX notification_scope_origin_idx ON notification USING btree (scope, origin);

CREATE INDEX broadcast_cope_origin_idx ON broadcast USING btree (scope, origin);

CREATE INDEX user_settings_user_idx ON user_settings USING btree ("user");
