-- Databases beside the demo installation, made by tests/e2e/run as the demo cluster's
-- superuser: a second installation (acme_staging_) copied from the demo's and then made to look
-- like one that Backstage's own migrations made (Knex tables, no record of ours), and a plugin
-- database that holds only the backend's service tables with their long Knex names, as
-- Backstage makes them (the permission plugin's database looks like this).
CREATE DATABASE acme_staging_catalog TEMPLATE backstage_plugin_catalog OWNER backstage;
CREATE DATABASE acme_staging_scaffolder TEMPLATE backstage_plugin_scaffolder OWNER backstage;
CREATE DATABASE backstage_plugin_permission OWNER backstage;
\c backstage_plugin_permission
SET ROLE backstage;
CREATE TABLE backstage_backend_public_keys__keys (
  id varchar(255) PRIMARY KEY,
  key text NOT NULL,
  expires_at varchar(255) NOT NULL
);
CREATE TABLE backstage_backend_public_keys__knex_migrations (
  id serial PRIMARY KEY,
  name varchar(255),
  batch integer,
  migration_time timestamptz
);
CREATE TABLE backstage_backend_public_keys__knex_migrations_lock (
  index serial PRIMARY KEY,
  is_locked integer
);
INSERT INTO backstage_backend_public_keys__knex_migrations (name, batch, migration_time)
  VALUES ('20240327104803_public_keys.js', 1, now());
INSERT INTO backstage_backend_public_keys__knex_migrations_lock (is_locked) VALUES (0);

\c acme_staging_catalog
SET ROLE backstage;
DROP TABLE bsi_migrations;
CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);
CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20200511113813_init.js', 1, now());
INSERT INTO knex_migrations_lock (is_locked) VALUES (0);
\c acme_staging_scaffolder
SET ROLE backstage;
DROP TABLE bsi_migrations;
CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);
CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('20210120143715_init.js', 1, now());
INSERT INTO knex_migrations_lock (is_locked) VALUES (0);

-- The role of the reconnection test, which reaches the demo's databases through a proxy that
-- the test cuts and restores.
\c postgres
CREATE ROLE bsi_e2e_proxy LOGIN PASSWORD 'bsi-e2e-proxy' IN ROLE pg_read_all_data;
