#!/usr/bin/env node
// Backstage's own reading of app-config files, as the reference for the inspector's import.
//
//   node oracle.js CASE_DIR...
//
// A case directory holds app-config files, `files` (their names in load order, one a line;
// default `app-config.yaml`), `env` (NAME=value lines: the whole environment Backstage runs
// with) and optionally `plugins` (plugin ids to ask for; default catalog, scaffolder, auth and
// every id under backend.database.plugin).
//
// Each case runs in a child process whose environment is exactly the case's `env`, through
// `ConfigSources.default({ argv: ['--config', f, ...], env, watch: false })`,
// `ConfigSources.toConfig`, `DatabaseManager.fromConfig(config)` and, per plugin,
// `forPlugin(id).getClient()`. Knex itself is replaced by a recorder, so the connector's real
// code builds the real Knex config and nothing connects; node-postgres' `ConnectionParameters`
// then applies its defaults (PGHOST, PGUSER, USER, ...). Token sources of the `azure`, `rds` and
// `cloudsql` connection types are replaced by fixed stand-ins.
//
// Prints one JSON object: { CASE_NAME: { plugins: { id: {...} | { error } } } | { error } }.

'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

function readEnvFile(file) {
  const env = {};
  if (!fs.existsSync(file)) return env;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${file}: line without '=': ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

function readList(file, fallback) {
  if (!fs.existsSync(file)) return fallback;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '' && !l.startsWith('#'));
}

function main(caseDirs) {
  const out = {};
  for (const dir of caseDirs) {
    const name = path.basename(path.resolve(dir));
    const env = readEnvFile(path.join(dir, 'env'));
    const child = spawnSync(process.execPath, [__filename, '--one', path.resolve(dir)], {
      env,
      encoding: 'utf8',
      timeout: 60000,
    });
    if (child.status !== 0) {
      throw new Error(
        `the oracle failed on ${dir} (status ${child.status}, ${child.error || ''}): ${child.stderr}`,
      );
    }
    const lines = child.stdout.trim().split('\n');
    out[name] = JSON.parse(lines[lines.length - 1]);
  }
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

const sha = text => crypto.createHash('sha256').update(String(text)).digest('hex').slice(0, 16);

// ---- stand-ins, installed before Backstage's modules load ----

function installStandIns(recorded) {
  const Module = require('node:module');
  function fakeKnex(config) {
    recorded.push(config);
    const query = {
      where: () => query,
      count: async () => [{ count: '1' }],
    };
    return {
      __config: config,
      client: { config, pool: { on() {} } },
      from: () => query,
      raw: async () => [],
      destroy: async () => {},
    };
  }
  fakeKnex.default = fakeKnex;
  class FakeAzureCredential {
    async getToken() {
      return { token: 'TOKEN-azure', expiresOnTimestamp: Date.now() + 3600e3 };
    }
  }
  const standIns = {
    knex: fakeKnex,
    '@azure/identity': {
      DefaultAzureCredential: FakeAzureCredential,
      ManagedIdentityCredential: FakeAzureCredential,
      ClientSecretCredential: FakeAzureCredential,
    },
    '@aws-sdk/rds-signer': {
      Signer: class {
        async getAuthToken() {
          return 'TOKEN-rds';
        }
      },
    },
    '@aws-sdk/credential-providers': {
      fromNodeProviderChain: () => async () => ({ accessKeyId: 'x', secretAccessKey: 'y' }),
    },
    // The values of @google-cloud/cloud-sql-connector 1.13.1 (ip-addresses.ts, auth-types.ts).
    '@google-cloud/cloud-sql-connector': {
      Connector: class {
        async getOptions() {
          return { stream: () => null };
        }
      },
      IpAddressTypes: { PUBLIC: 'PUBLIC', PRIVATE: 'PRIVATE', PSC: 'PSC', SQL_DATA: 'SQL_DATA' },
      AuthTypes: { PASSWORD: 'PASSWORD', IAM: 'IAM' },
    },
  };
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (Object.prototype.hasOwnProperty.call(standIns, request)) return standIns[request];
    return load.call(this, request, parent, isMain);
  };
}

// What node-postgres connects with, from the connection Knex would be given.
function describeSsl(ssl) {
  if (!ssl) return { mode: 'off' };
  if (typeof ssl === 'object') {
    if (ssl.rejectUnauthorized === false) return { mode: 'no-verify' };
    const ca = ssl.ca === undefined ? null : sha([ssl.ca].flat().map(c => String(c).trim()).join('\n'));
    return { mode: 'verify', ca };
  }
  return { mode: 'verify', ca: null };
}

async function describePlugin(manager, id) {
  const { client } = manager.impl.getClientType(id);
  const service = manager.forPlugin(id, {
    logger: { info() {}, warn() {}, error() {}, debug() {}, child() { return this; } },
    lifecycle: { addShutdownHook() {}, addStartupHook() {} },
    pluginMetadata: { getId: () => id },
  });
  if (client !== 'pg') return { client };
  const db = await service.getClient();
  const config = db.__config;
  let connection = config.connection;
  if (typeof connection === 'function') connection = await connection();
  const type = (typeof config.connection === 'object' && config.connection?.type) || null;
  const ConnectionParameters = require(require.resolve('pg/lib/connection-parameters', {
    paths: [require.resolve('@backstage/backend-defaults')],
  }));
  const cp = new ConnectionParameters(connection);
  const out = {
    client: config.client,
    host: cp.host ?? null,
    port: Number.isNaN(cp.port) ? null : cp.port,
    user: cp.user ?? null,
    database: cp.database ?? null,
    schema: config.searchPath ? [config.searchPath].flat()[0] : null,
    ssl: describeSsl(cp.ssl),
    password: cp.password ? sha(cp.password) : null,
    type,
  };
  if (typeof config.connection === 'function') {
    // azure and rds: the password is a token minted per connection.
    out.type = connection.password === 'TOKEN-azure' ? 'azure' : 'rds';
    out.password = 'token';
  }
  if (connection && typeof connection.stream === 'function') out.type = 'cloudsql';
  return out;
}

async function one(dir) {
  const recorded = [];
  installStandIns(recorded);
  const { ConfigSources } = require('@backstage/config-loader');
  const { DatabaseManager } = require('@backstage/backend-defaults/database');
  const files = readList(path.join(dir, 'files'), ['app-config.yaml']);
  const argv = files.flatMap(f => ['--config', path.join(dir, f)]);
  let config;
  try {
    const source = ConfigSources.default({ argv, env: process.env, watch: false });
    config = await ConfigSources.toConfig(source);
  } catch (e) {
    return { error: String(e.message || e) };
  }
  let manager;
  try {
    manager = DatabaseManager.fromConfig(config);
  } catch (e) {
    return { error: String(e.message || e) };
  }
  let ids = ['catalog', 'scaffolder', 'auth'];
  try {
    const plugin = config.getOptionalConfig('backend.database.plugin');
    if (plugin) ids = [...new Set([...ids, ...plugin.keys()])];
  } catch (e) {
    return { error: String(e.message || e) };
  }
  ids = readList(path.join(dir, 'plugins'), ids);
  const plugins = {};
  for (const id of ids) {
    try {
      plugins[id] = await describePlugin(manager, id);
    } catch (e) {
      plugins[id] = { error: String(e.message || e) };
    }
  }
  return { plugins };
}

if (process.argv[2] === '--one') {
  one(process.argv[3]).then(
    result => {
      process.stdout.write(`\n${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    e => {
      process.stderr.write(`${e.stack || e}\n`);
      process.exit(2);
    },
  );
} else {
  main(process.argv.slice(2));
}
