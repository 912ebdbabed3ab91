-- 0002: auth-backend tables signing_keys, sessions, user_info, oauth_authorization_sessions,
-- oidc_authorization_codes and offline_sessions, with primary keys, the status check, the
-- oidc_authorization_codes -> oauth_authorization_sessions foreign key and column comments.
-- Corresponds to the final state of the auth-backend Knex migrations 20200619125845_init.js,
-- 20210326100300_timestamptz.js, 20220321100910_timestamptz_again.js, 20220522100910_key_field_size.js,
-- 20230428155633_sessions.js, 20240510120825_user_info.js, 20250707164600_user_created_at.js,
-- 20250909120000_oidc_client_registration.js, 20251020000000_offline_sessions.js,
-- 20251118120000_oauth_state_text.js, 20251217120000_drop_oidc_clients_fk.js,
-- 20260317120000_drop_offline_sessions_fk.js and 20261030120000_remove_dcr.js. In that final state there
-- is no oidc_clients table: offline_sessions.oidc_client_id and oauth_authorization_sessions.client_id
-- are plain ids without a foreign key. Definitions copied from the real database.
-- Not created: knex_migrations / knex_migrations_lock (they mark a database real Backstage manages).
-- No schema qualifier: everything is created in the first schema of the current search_path.

CREATE TABLE signing_keys (
    kid character varying(255) NOT NULL,
    created_at timestamp(0) with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    key text NOT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid)
);

COMMENT ON TABLE signing_keys IS 'Signing keys that are currently in use or have recently been used to issue tokens';
COMMENT ON COLUMN signing_keys.kid IS 'ID of the signing key';
COMMENT ON COLUMN signing_keys.created_at IS 'The creation time of the key';
COMMENT ON COLUMN signing_keys.key IS 'The serialized signing key';

-- connect-session-knex store.
CREATE TABLE sessions (
    sid character varying(255) NOT NULL,
    sess text NOT NULL,
    expired timestamp with time zone NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (sid)
);

COMMENT ON TABLE sessions IS 'Session data';
COMMENT ON COLUMN sessions.sid IS 'ID of the session';
COMMENT ON COLUMN sessions.sess IS 'Session data, JSON serialized';
COMMENT ON COLUMN sessions.expired IS 'The point in time when the session expires';

CREATE TABLE user_info (
    user_entity_ref character varying(255) NOT NULL,
    user_info text NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT user_info_pkey PRIMARY KEY (user_entity_ref)
);

COMMENT ON TABLE user_info IS 'User information';
COMMENT ON COLUMN user_info.user_entity_ref IS 'User entity reference';
COMMENT ON COLUMN user_info.user_info IS 'User info blob, JSON serialized';
COMMENT ON COLUMN user_info.updated_at IS 'Expiration timestamp of the user info';

CREATE TABLE oauth_authorization_sessions (
    id character varying(255) NOT NULL,
    client_id character varying(255) NOT NULL,
    user_entity_ref character varying(255),
    redirect_uri text NOT NULL,
    scope text,
    state text,
    response_type character varying(255) NOT NULL,
    code_challenge character varying(255),
    code_challenge_method character varying(255),
    nonce character varying(255),
    status text DEFAULT 'pending'::text,
    expires_at timestamp(0) with time zone NOT NULL,
    CONSTRAINT oauth_authorization_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT oauth_authorization_sessions_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'expired'::text])))
);

COMMENT ON TABLE oauth_authorization_sessions IS 'Core OAuth authorization sessions with shared context';
COMMENT ON COLUMN oauth_authorization_sessions.id IS 'Unique session identifier';
COMMENT ON COLUMN oauth_authorization_sessions.client_id IS 'OIDC client identifier';
COMMENT ON COLUMN oauth_authorization_sessions.user_entity_ref IS 'Backstage user entity reference';
COMMENT ON COLUMN oauth_authorization_sessions.redirect_uri IS 'Client redirect URI';
COMMENT ON COLUMN oauth_authorization_sessions.scope IS 'Requested scopes space-separated';
COMMENT ON COLUMN oauth_authorization_sessions.state IS 'Client state parameter';
COMMENT ON COLUMN oauth_authorization_sessions.response_type IS 'OAuth2 response type';
COMMENT ON COLUMN oauth_authorization_sessions.code_challenge IS 'PKCE code challenge';
COMMENT ON COLUMN oauth_authorization_sessions.code_challenge_method IS 'PKCE code challenge method';
COMMENT ON COLUMN oauth_authorization_sessions.nonce IS 'OIDC nonce parameter';
COMMENT ON COLUMN oauth_authorization_sessions.status IS 'Authorization session status';
COMMENT ON COLUMN oauth_authorization_sessions.expires_at IS 'Session expiration timestamp';

CREATE TABLE oidc_authorization_codes (
    code character varying(255) NOT NULL,
    session_id character varying(255) NOT NULL,
    expires_at timestamp(0) with time zone NOT NULL,
    used boolean DEFAULT false,
    CONSTRAINT oidc_authorization_codes_pkey PRIMARY KEY (code),
    CONSTRAINT oidc_authorization_codes_session_id_foreign FOREIGN KEY (session_id) REFERENCES oauth_authorization_sessions(id) ON DELETE CASCADE
);

COMMENT ON TABLE oidc_authorization_codes IS 'OAuth authorization codes for code exchange flow';
COMMENT ON COLUMN oidc_authorization_codes.code IS 'Unique authorization code';
COMMENT ON COLUMN oidc_authorization_codes.session_id IS 'Authorization session identifier';
COMMENT ON COLUMN oidc_authorization_codes.expires_at IS 'Authorization code expiration timestamp';
COMMENT ON COLUMN oidc_authorization_codes.used IS 'Whether the authorization code has been used';

-- Refresh tokens: one row per user and OIDC client; token_hash is a scrypt hash, never the token.
CREATE TABLE offline_sessions (
    id character varying(255) NOT NULL,
    user_entity_ref character varying(255) NOT NULL,
    oidc_client_id character varying(255),
    token_hash text NOT NULL,
    created_at timestamp(0) with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    last_used_at timestamp(0) with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT offline_sessions_pkey PRIMARY KEY (id)
);

COMMENT ON TABLE offline_sessions IS 'Offline sessions for refresh tokens in dynamic client registration and device auth flows';
COMMENT ON COLUMN offline_sessions.id IS 'Persistent session ID that remains across token rotations';
COMMENT ON COLUMN offline_sessions.user_entity_ref IS 'Backstage user entity reference';
COMMENT ON COLUMN offline_sessions.oidc_client_id IS 'OIDC client identifier (optional, for OIDC flows)';
COMMENT ON COLUMN offline_sessions.token_hash IS 'Current refresh token hash (scrypt)';
COMMENT ON COLUMN offline_sessions.created_at IS 'Session creation timestamp';
COMMENT ON COLUMN offline_sessions.last_used_at IS 'Last token refresh timestamp';
