#!/usr/bin/env node
// Builds crates/core/src/eras/migrations.tsv: for each Backstage package that keeps Knex
// migrations, which migration set each published version ships, and what each migration adds.
//
//   node scripts/backstage-versions/generate.mjs [--all] [--cache DIR] [--out FILE]
//
// Versions come from `npm view PKG versions --json` (prereleases skipped), tarballs from
// `npm pack PKG@V` into a cache folder outside the repository (default
// ~/.cache/backstage-inspector/npm-packs, or $BSV_CACHE). Migration sets only grow or change at a
// few versions, so by default each package's versions are bisected: the first and last version
// are read, and a range is split only when its ends ship different sets. A package in which a
// set ever shrinks (a migration removed) is not monotonic, so then every version of it is read.
// `--all` reads every version of every package. Needs npm, tar and network access to a registry.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

// Each package and, per folder of migrations in its tarball, the Knex table they are recorded in.
// A folder missing from a version means that version ships none of them.
const PACKAGES = [
  ['@backstage/plugin-catalog-backend', { migrations: 'knex_migrations' }],
  ['@backstage/plugin-scaffolder-backend', { migrations: 'knex_migrations' }],
  ['@backstage/plugin-auth-backend', { migrations: 'knex_migrations' }],
  ['@backstage/plugin-search-backend-module-pg', { migrations: 'knex_migrations' }],
  ['@backstage/plugin-notifications-backend', { migrations: 'knex_migrations' }],
  ['@backstage/plugin-events-backend', { migrations: 'knex_migrations' }],
  // The old scheduler; its tables and migrations moved to backend-defaults.
  ['@backstage/backend-tasks', { migrations: 'backstage_backend_tasks__knex_migrations' }],
  [
    '@backstage/backend-defaults',
    {
      'migrations/scheduler': 'backstage_backend_tasks__knex_migrations',
      'migrations/auth': 'backstage_backend_public_keys__knex_migrations',
    },
  ],
];

// What the inspector asks `eras::added_by` about; the generation fails when one of these is not
// found added by some migration's `up`, so a renamed or moved migration cannot go unnoticed.
const REQUIRED_ADDS = [
  ['@backstage/plugin-catalog-backend', 'final_entities'],
  ['@backstage/plugin-catalog-backend', 'final_entities.entity_ref'],
  ['@backstage/plugin-catalog-backend', 'refresh_state'],
  ['@backstage/plugin-catalog-backend', 'refresh_state_references'],
  ['@backstage/plugin-catalog-backend', 'refresh_keys'],
  ['@backstage/plugin-catalog-backend', 'stitch_queue'],
  ['@backstage/plugin-catalog-backend', 'locations.location_entity_ref'],
  ['@backstage/plugin-catalog-backend', 'search.original_value'],
  ['@backstage/plugin-catalog-backend', 'final_entities.last_updated_at'],
  ['@backstage/plugin-scaffolder-backend', 'tasks'],
  ['@backstage/plugin-scaffolder-backend', 'task_events'],
  ['@backstage/plugin-scaffolder-backend', 'tasks.state'],
  ['@backstage/plugin-scaffolder-backend', 'tasks.workspace'],
  ['@backstage/plugin-scaffolder-backend', 'tasks.created_by'],
  ['@backstage/plugin-auth-backend', 'offline_sessions'],
  ['@backstage/plugin-auth-backend', 'user_info'],
  ['@backstage/plugin-auth-backend', 'sessions'],
  ['@backstage/plugin-auth-backend', 'signing_keys'],
];

const args = process.argv.slice(2);
const opt = name => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ALL = args.includes('--all');
const CACHE = path.resolve(
  opt('--cache') ??
    process.env.BSV_CACHE ??
    path.join(os.homedir(), '.cache', 'backstage-inspector', 'npm-packs'),
);
const OUT = path.resolve(opt('--out') ?? path.join(repo, 'crates/core/src/eras/migrations.tsv'));
if (CACHE.startsWith(repo + path.sep)) {
  console.error(`the cache ${CACHE} is inside the repository; give --cache a folder outside it`);
  process.exit(2);
}
fs.mkdirSync(CACHE, { recursive: true });

let packed = 0; // tarballs downloaded in this run
let read = 0; // versions read (from the cache or downloaded)

function npm(...a) {
  return execFileSync('npm', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Semver order of plain x.y.z versions.
function cmp(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

function versionsOf(pkg) {
  const all = JSON.parse(npm('view', pkg, 'versions', '--json'));
  return (Array.isArray(all) ? all : [all]).filter(v => /^\d+\.\d+\.\d+$/.test(v)).sort(cmp);
}

// The extracted `package/` folder of PKG@V (only its migrations), from the cache or downloaded.
function extracted(pkg, v) {
  const base = `${pkg.replace('@', '').replace('/', '-')}-${v}`;
  const dir = path.join(CACHE, base);
  if (!fs.existsSync(path.join(dir, '.done'))) {
    const tgz = path.join(CACHE, `${base}.tgz`);
    if (!fs.existsSync(tgz)) {
      const name = npm('pack', `${pkg}@${v}`, '--silent', '--pack-destination', CACHE).trim();
      if (path.join(CACHE, name.split('\n').pop()) !== tgz) {
        throw new Error(`npm pack ${pkg}@${v} wrote ${name}, expected ${tgz}`);
      }
      packed++;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const list = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n');
    const wanted = list.filter(f => /^package\/migrations\/.*\.(js|cjs|mjs|ts)$/.test(f));
    if (wanted.length) execFileSync('tar', ['xzf', tgz, '-C', dir, ...wanted]);
    fs.writeFileSync(path.join(dir, '.done'), '');
  }
  read++;
  return path.join(dir, 'package');
}

// folder -> sorted migration names (extension stripped), for PKG@V.
const setCache = new Map();
function setsOf(pkg, folders, v) {
  const key = `${pkg}@${v}`;
  if (setCache.has(key)) return setCache.get(key);
  const root = extracted(pkg, v);
  const out = {};
  for (const folder of Object.keys(folders)) {
    const dir = path.join(root, folder);
    const names = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter(f => /\.(js|cjs|mjs|ts)$/.test(f) && !f.endsWith('.d.ts'))
          .map(f => f.replace(/\.(js|cjs|mjs|ts)$/, ''))
          .sort()
      : [];
    out[folder] = names;
  }
  const result = { sets: out, root };
  setCache.set(key, result);
  return result;
}

const same = (a, b) => JSON.stringify(a.sets) === JSON.stringify(b.sets);

// Fills known[i] for every version, reading only where the ends of a range differ.
function bisect(pkg, folders, versions, known, lo, hi) {
  known[lo] ??= setsOf(pkg, folders, versions[lo]);
  known[hi] ??= setsOf(pkg, folders, versions[hi]);
  if (hi - lo < 2) return;
  if (same(known[lo], known[hi])) {
    for (let i = lo + 1; i < hi; i++) known[i] ??= { ...known[lo], assumed: true };
    return;
  }
  const mid = (lo + hi) >> 1;
  bisect(pkg, folders, versions, known, lo, mid);
  bisect(pkg, folders, versions, known, mid, hi);
}

function shrinks(known) {
  for (let i = 1; i < known.length; i++) {
    for (const [f, names] of Object.entries(known[i - 1].sets)) {
      const now = new Set(known[i].sets[f]);
      if (names.some(n => !now.has(n))) return true;
    }
  }
  return false;
}

// Tables and columns added by a migration's `up`: createTable('t', ...) with its columns, and
// columns added in alterTable('t', ...) / table('t', ...). Read from the source text.
const COLUMN_METHODS =
  'text|string|uuid|integer|bigInteger|bigint|bigIncrements|increments|timestamp|timestamps|dateTime|datetime|date|time|boolean|json|jsonb|binary|specificType|enu|enum|float|double|decimal|smallint|tinyint|mediumint';
function addsOf(source) {
  let up = source;
  const u = source.search(/exports\.up\s*=|export\s+(async\s+)?function\s+up\b/);
  if (u >= 0) up = source.slice(u);
  const d = up.search(/exports\.down\s*=|export\s+(async\s+)?function\s+down\b/);
  if (d > 0) up = up.slice(0, d);
  const out = [];
  const call = /\.(createTable|createTableIfNotExists|alterTable|table)\(\s*['"`]([\w.]+)['"`]/g;
  const marks = [...up.matchAll(call)];
  marks.forEach((m, i) => {
    const table = m[2].split('.').pop();
    if (m[1].startsWith('createTable')) out.push(table);
    const body = up.slice(m.index, i + 1 < marks.length ? marks[i + 1].index : up.length);
    const col = new RegExp(`\\.(?:${COLUMN_METHODS})\\(\\s*['"\`](\\w+)['"\`]`, 'g');
    for (const c of body.matchAll(col)) out.push(`${table}.${c[1]}`);
  });
  // Raw DDL: CREATE TABLE x / ALTER TABLE x ADD COLUMN y.
  for (const m of up.matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?/gi)) out.push(m[1]);
  for (const m of up.matchAll(/ALTER\s+TABLE\s+"?(\w+)"?\s+ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)"?/gi)) {
    if (!/^(CONSTRAINT|PRIMARY|FOREIGN|UNIQUE|CHECK)$/i.test(m[2])) out.push(`${m[1]}.${m[2]}`);
  }
  return [...new Set(out)];
}

const started = Date.now();
const setRows = [];
const migrationRows = [];
const addRows = [];
const notes = [];

for (const [pkg, folders] of PACKAGES) {
  const versions = versionsOf(pkg);
  const known = new Array(versions.length);
  if (ALL) {
    versions.forEach((v, i) => (known[i] = setsOf(pkg, folders, v)));
  } else {
    bisect(pkg, folders, versions, known, 0, versions.length - 1);
    if (shrinks(known)) {
      notes.push(`${pkg}: a migration set shrinks, so every version was read`);
      versions.forEach((v, i) => {
        if (known[i].assumed) known[i] = setsOf(pkg, folders, v);
      });
    }
  }
  for (const [folder, table] of Object.entries(folders)) {
    // Every migration of this folder, the versions that ship it, and the runs of equal sets.
    const firstIn = new Map();
    const lastIn = new Map();
    const runs = [];
    versions.forEach((v, i) => {
      const names = known[i].sets[folder];
      for (const n of names) {
        if (!firstIn.has(n)) firstIn.set(n, v);
        lastIn.set(n, v);
      }
      const key = names.join('\n');
      const run = runs.at(-1);
      if (run && run.key === key) {
        run.last = v;
        run.count++;
      } else {
        runs.push({ key, names, first: v, last: v, count: 1 });
      }
    });
    const all = [...firstIn.keys()].sort();
    const index = new Map(all.map((n, i) => [n, i]));
    all.forEach((n, i) =>
      migrationRows.push(['migration', pkg, table, i, n, firstIn.get(n), lastIn.get(n)]),
    );
    for (const run of runs) {
      if (!run.names.length) continue;
      const ids = run.names.map(n => index.get(n)).sort((a, b) => a - b);
      const spans = [];
      for (const id of ids) {
        const s = spans.at(-1);
        if (s && s[1] === id - 1) s[1] = id;
        else spans.push([id, id]);
      }
      const members = spans.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
      const id = createHash('sha256').update(run.key).digest('hex').slice(0, 10);
      setRows.push(['set', pkg, table, id, run.first, run.last, run.count, run.names.length, run.names.at(-1), members]);
    }
    // What each migration adds, read from the newest version that ships it.
    const adds = new Map();
    for (const n of all) {
      const i = versions.indexOf(lastIn.get(n));
      const root = setsOf(pkg, folders, versions[i]).root;
      const dir = path.join(root, folder);
      const file = fs.readdirSync(dir).find(f => f.replace(/\.(js|cjs|mjs|ts)$/, '') === n);
      for (const target of addsOf(fs.readFileSync(path.join(dir, file), 'utf8'))) {
        if (!adds.has(target)) adds.set(target, n);
      }
    }
    for (const [target, n] of [...adds].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      addRows.push(['adds', pkg, table, target, n, firstIn.get(n)]);
    }
  }
}

const missing = REQUIRED_ADDS.filter(
  ([pkg, target]) => !addRows.some(r => r[1] === pkg && r[3] === target),
);
if (missing.length) {
  console.error(`no migration found adding: ${missing.map(m => m.join(' ')).join('; ')}`);
  process.exit(1);
}

const header = [
  '# Generated by scripts/backstage-versions/generate.mjs from the npm registry: do not edit.',
  '# Regenerate with `node scripts/backstage-versions/generate.mjs` (add --all to read every version).',
  '# set: package, knex table, set id, first version, last version, versions, migrations, newest, members (indexes of its migration rows)',
  '# migration: package, knex table, index, name, first version that ships it, last version that ships it',
  '# adds: package, knex table, table or table.column, migration whose up adds it, first version that ships that migration',
  ...notes.map(n => `# ${n}`),
];
const body = [...setRows, ...migrationRows, ...addRows].map(r => r.join('\t'));
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, [...header, ...body].join('\n') + '\n');
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.error(
  `${OUT}: ${setRows.length} sets, ${migrationRows.length} migrations, ${addRows.length} adds; ` +
    `${read} versions read, ${packed} tarballs downloaded, ${secs} s`,
);
