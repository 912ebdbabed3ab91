// The real app window, driven through WebDriver. tests/e2e/run prepares the demo database and
// a `demo` profile, starts Xvfb and tauri-driver, and runs these tests. Each test asserts what
// the page shows; screenshots of the main views go to BSI_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Builder, By, Key, until } from 'selenium-webdriver';

const application = process.env.BSI_APP;
const shots = process.env.BSI_SCREENSHOTS;
const work = process.env.BSI_E2E_WORK;
const demoDir = process.env.BSI_DEMO_DIR;
const WAIT = 30000;
let driver;

let launchers = 0;

/**
 * A script that starts the app with `env` added to its environment (tauri-driver starts the
 * binary it is given with its own environment only).
 */
function launcher(env) {
  const q = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
  const path = join(work, `launch-${++launchers}.sh`);
  const exports = Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}`);
  writeFileSync(path, ['#!/bin/sh', ...exports, `exec ${q(application)} "$@"`, ''].join('\n'));
  chmodSync(path, 0o755);
  return path;
}

/** A new app window with `args`; `env` adds to the app's environment. */
async function open(args = [], env = null) {
  const app = env ? launcher(env) : application;
  return new Builder()
    .usingServer(`http://127.0.0.1:${process.env.BSI_DRIVER_PORT ?? 4444}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: app, args } })
    .build();
}

// The flows of the tests that open the app with TRACED log at trace level into their own log
// file, which the last test reads for secrets (the app logs to
// $XDG_DATA_HOME/<identifier>/logs/backstage-inspector.log).
const TRACE_HOME = work ? join(work, 'traced') : '/nonexistent';
const TRACED = { BSI_LOG: 'trace', XDG_DATA_HOME: TRACE_HOME };
const TRACE_LOG = join(TRACE_HOME, 'io.backstageinspector.app', 'logs', 'backstage-inspector.log');

/** The `application_name` of the app's sessions. */
const APP_NAME = 'Backstage Inspector';
/** The keyring service of debug builds. */
const KEYRING_SERVICE = 'backstage-inspector-dev';

/** The demo cluster's port. */
function demoPort() {
  const conf = readFileSync(join(demoDir, 'data', 'postgresql.auto.conf'), 'utf8');
  const ports = [...conf.matchAll(/^port = '?(\d+)'?/gm)];
  return Number(ports[ports.length - 1][1]);
}

/** psql as the demo cluster's superuser over its local socket (as tests/e2e/run does). */
function psqlCommand(conninfo) {
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const args = ['psql', '-h', demoDir, '-p', String(demoPort()), '-U', 'postgres', '-d', conninfo];
  return [...asOwner, ...args, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1'];
}

/** Runs `sql` in `db` and returns its output (one row a line, columns split by `|`). */
function psql(db, sql) {
  const [cmd, ...args] = psqlCommand(db);
  return execFileSync(cmd, [...args, '-c', sql], { encoding: 'utf8' }).trim();
}

/** The single value `sql` returns, parsed as JSON (use `SELECT json_agg(...)` and the like). */
function psqlJson(db, sql) {
  const out = psql(db, sql);
  return out === '' ? null : JSON.parse(out);
}

const sqlText = (v) => `'${String(v).replace(/'/g, "''")}'`;

/** Waits, without a window, until `f()` is truthy, and returns it. */
async function waitFor(f, message, timeout = WAIT) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${message}`);
    await sleep(100);
  }
}

/**
 * A psql session that runs `sql` in a transaction and keeps it open (holding its locks) until
 * `release()`.
 */
async function holdInTransaction(db, sql, held) {
  const [cmd, ...args] = psqlCommand(`dbname=${db} application_name=bsi-e2e-locker`);
  const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => {
    stderr += d;
  });
  p.stdin.write(`BEGIN;\n${sql};\n`);
  await waitFor(() => p.exitCode !== null || held(), 'the lock is taken').catch((e) => {
    p.kill();
    throw e;
  });
  if (p.exitCode !== null) throw new Error(`psql ended: ${stderr}`);
  return {
    async release() {
      if (p.exitCode !== null) return;
      p.stdin.end('ROLLBACK;\n');
      await Promise.race([once(p, 'exit'), sleep(10000)]);
      if (p.exitCode === null) p.kill();
    },
  };
}

/** The password stored in the keyring for `account`, or null. */
function keyringSecret(account) {
  const r = spawnSync('secret-tool', ['lookup', 'service', KEYRING_SERVICE, 'username', account], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** What `secret-tool search` finds for `account` (empty when nothing is stored). */
function keyringItems(account) {
  const r = spawnSync('secret-tool', ['search', '--all', 'service', KEYRING_SERVICE, 'username', account], {
    encoding: 'utf8',
  });
  return `${r.stdout}${r.stderr}`.trim();
}

/** The demo role's password (the demo stored it in the keyring for its profile). */
function demoPassword() {
  const pw = keyringSecret('demo');
  assert.ok(pw, 'the demo password is in the keyring');
  return pw;
}

/** The CLI next to the app. */
function bsi(args, input) {
  return execFileSync(join(dirname(application), 'bsi'), args, { encoding: 'utf8', input });
}

/** Saves a profile for the demo server as role backstage, with the demo password. */
function addDemoProfile(name, extra = []) {
  bsi(
    ['profile', 'add', name, '--host', 'localhost', '--port', String(demoPort()), '--user', 'backstage',
      '--sslmode', 'verify-full', '--ca', join(demoDir, 'ca.crt'), '--password-stdin', ...extra],
    `${demoPassword()}\n`,
  );
}

async function close() {
  if (driver) await driver.quit();
  driver = undefined;
}

// The X screen, not WebDriver's screenshot: that one can lag behind the page on a busy machine.
async function shot(name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await sleep(700);
  execFileSync('import', ['-window', 'root', `${shots}/${name}.png`]);
}

/** A test with its own window: on failure the screen and the page source are saved. */
function e2e(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      const dir = shots ?? '/tmp';
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50);
      mkdirSync(dir, { recursive: true });
      try {
        execFileSync('import', ['-window', 'root', `${dir}/failed-${slug}.png`]);
        if (driver) writeFileSync(`${dir}/failed-${slug}.html`, await driver.getPageSource());
      } catch {
        // Best effort only.
      }
      throw e;
    } finally {
      await close();
    }
  });
}

const css = (s) => By.css(s);
const tid = (id) => By.css(`[data-testid="${id}"]`);

async function find(id, timeout = WAIT) {
  return driver.wait(until.elementLocated(tid(id)), timeout, `no [data-testid="${id}"]`);
}

async function visible(id, timeout = WAIT) {
  const el = await find(id, timeout);
  await driver.wait(until.elementIsVisible(el), timeout);
  return el;
}

async function count(selector) {
  return (await driver.findElements(css(selector))).length;
}

/** Waits until `f` returns a truthy value (retrying on stale elements), and returns it. */
async function eventually(f, message, timeout = WAIT) {
  let last;
  return driver.wait(
    async () => {
      try {
        return await f();
      } catch (e) {
        last = e;
        return false;
      }
    },
    timeout,
    `${message}${last ? ` (${last.message})` : ''}`,
  );
}

async function go(view) {
  await (await find(`nav-${view}`)).click();
  await find(`view-${view}`);
}

async function bodyText() {
  return driver.findElement(css('body')).getText();
}

before(async () => {
  assert.ok(application, 'BSI_APP must point at the app binary');
});

after(close);

e2e('the window says which profile is connected and lists its databases', async () => {
  driver = await open(['--profile', 'demo']);
  const name = await find('profile-name');
  assert.equal(await name.getText(), 'demo');
  assert.match(await (await find('mode-badge')).getText(), /read-only/i);
  await find('database-row');
  const texts = await eventually(async () => {
    const rows = await driver.findElements(tid('database-row'));
    const t = await Promise.all(rows.map((r) => r.getText()));
    return t.some((x) => x.includes('backstage_plugin_scaffolder')) && t;
  }, 'the scaffolder database is listed');
  assert.ok(texts.some((t) => t.includes('backstage_plugin_catalog') && t.includes('catalog')), texts.join('\n'));
  assert.match(await (await find('server-version')).getText(), /^\d+/);
  // Health counts of the catalog come with the overview.
  const entities = await eventually(async () => {
    const t = await (await find('count-entities')).getText();
    return /\d/.test(t) && t;
  }, 'the entity count is shown');
  assert.ok(Number(entities.replace(/,/g, '')) > 0, entities);
  await shot('overview');
});

// For each Overview card: whether its content overflows it, and every word (text split at
// blanks and `_`) that is broken across lines, which is what a card too narrow for its content
// looks like (one character per line).
const CARD_PROBLEMS = `
  const problems = [];
  for (const card of document.querySelectorAll('[data-testid="database-row"]')) {
    const name = card.querySelector('h2')?.textContent ?? '?';
    if (card.scrollWidth > card.clientWidth + 1) {
      problems.push(name + ': content overflows (' + card.scrollWidth + ' > ' + card.clientWidth + ')');
    }
    const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const re = /[^\\s_]+/g;
      let m;
      while ((m = re.exec(n.textContent))) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
        if (tops.size > 1) problems.push(name + ': "' + m[0] + '" is broken over ' + tops.size + ' lines');
      }
    }
  }
  return problems;
`;

e2e('overview cards fit long names, and another installation on the server can be chosen for the run', async () => {
  driver = await open(['--profile', 'demo']);
  // The permission database holds only the backend's tables, with long Knex names.
  const card = await eventually(async () => {
    for (const r of await driver.findElements(tid('database-row'))) {
      const t = await r.getText();
      if (t.includes('backstage_plugin_permission') && t.includes('knex_migrations')) return r;
    }
    return false;
  }, 'the permission database shows its Knex tables');
  assert.match(await card.getText(), /backstage_backend_public_keys__knex_migrations/);
  await eventually(async () => (await count('[data-testid="database-row"]')) >= 5, 'every card is shown');
  const cards = await driver.findElements(tid('database-row'));
  const widths = await Promise.all(cards.map((c) => c.getRect().then((r) => r.width)));
  assert.ok(Math.min(...widths) >= 300, `cards are at least 300 px wide: ${widths}`);
  assert.deepEqual(await driver.executeScript(CARD_PROBLEMS), []);
  await shot('overview-long-names');

  // The demo's profile finds its own installation whole: no note, and the list is folded.
  await (await find('overview')).findElement(css('.installations-box summary')).click();
  const staging = await eventually(async () => {
    for (const r of await driver.findElements(tid('installation-row'))) {
      if ((await r.getText()).includes('acme_staging_')) return r;
    }
    return false;
  }, 'the acme_staging_ installation is listed');
  assert.equal(await count('[data-testid="other-installations"]'), 0);
  const rows = await driver.findElements(tid('installation-row'));
  // The demo, acme_staging_ and one installation per era of real Backstage databases.
  assert.equal(rows.length, 2 + ERAS.length, (await Promise.all(rows.map((r) => r.getText()))).join('\n'));
  assert.match(await staging.getText(), /catalog, scaffolder/);
  await (await staging.findElement(tid('installation-use'))).click();
  const chip = await find('switched-layout');
  assert.match(await chip.getText(), /acme_staging_/);
  await eventually(async () => {
    const t = await Promise.all((await driver.findElements(tid('database-row'))).map((r) => r.getText()));
    return t.some((x) => x.includes('acme_staging_catalog')) && !t.some((x) => x.includes('backstage_plugin_catalog'));
  }, 'the overview shows the chosen installation');
  assert.equal(await (await find('profile-name')).getText(), 'demo');
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());

  // Its databases were made by Backstage's own migrations: nothing of ours is pending there.
  await go('migrations');
  const managed = await find('backstage-managed');
  assert.match(await managed.getText(), /acme_staging_catalog/);
  assert.match(await (await find('migrations-summary')).getText(), /Backstage/);
  assert.equal(await count('[data-testid="migrations-apply"]'), 0, 'no Apply button');
  assert.doesNotMatch(await bodyText(), /\d+ pending/);
  await (await find('open-knex')).click();
  await find('view-knex');
});

/** Opens the demo profile (with `env` added to the app's) and switches this run to the installation with `prefix`. */
async function useInstallation(prefix, env = null) {
  driver = await open(['--profile', 'demo'], env);
  await find('database-row');
  await (await find('overview')).findElement(css('.installations-box summary')).click();
  const row = await eventually(async () => {
    for (const r of await driver.findElements(tid('installation-row'))) {
      if ((await r.getText()).includes(prefix)) return r;
    }
    return false;
  }, `the ${prefix} installation is listed`);
  await (await row.findElement(tid('installation-use'))).click();
  await eventually(async () => {
    const t = await Promise.all((await driver.findElements(tid('database-row'))).map((r) => r.getText()));
    return t.some((x) => x.includes(`${prefix}catalog`)) && t;
  }, `the overview shows ${prefix}`);
}

// The eras of tests/fixtures/backstage, restored by tests/e2e/run under `bs<era>_`.
const ERAS = ['2022-08', '2023-10', 'current'];

for (const era of ERAS) {
  const prefix = `bs${era.replace(/-/g, '')}_`;
  e2e(`real Backstage databases of ${era}: overview, entities, an entity, its graph, tasks, sessions, Knex`, async () => {
    await useInstallation(prefix);
    // Which Backstage each database is, read off its Knex migrations.
    const catalogCard = await eventually(async () => {
      for (const r of await driver.findElements(tid('database-row'))) {
        const t = await r.getText();
        if (t.includes(`${prefix}catalog`) && t.includes('catalog-backend')) return r;
      }
      return false;
    }, 'the catalog card names its catalog-backend versions');
    assert.ok(catalogCard);
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
    await shot(`real-${era}-overview`);

    // Entities list and one entity with its relations (older catalogs have no entity_ref in
    // final_entities: the refs come from refresh_state).
    await go('entities');
    await find('entity-row');
    assert.match(await (await find('entity-total')).getText(), /\d/);
    const withRelations = await eventually(async () => {
      const cells = await driver.findElements(css('[data-testid="entity-row"] [data-ref]'));
      for (const c of cells) {
        if ((await c.getAttribute('data-ref')).startsWith('component:')) return c;
      }
      return false;
    }, 'a component is listed');
    const ref = await withRelations.getAttribute('data-ref');
    await withRelations.click();
    assert.equal(await (await visible('entity-ref')).getText(), ref);
    assert.doesNotMatch(await bodyText(), /never stitched/i);
    await (await find('tab-relations')).click();
    await find('relations-out');
    await (await find('tab-overview')).click();
    await (await find('open-graph')).click();
    await find('view-graph');
    await eventually(async () => Number(await (await find('graph-node-count')).getText()) > 1, 'the graph has neighbours');
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());

    // Scaffolder tasks of every status the backend left.
    await go('scaffolder');
    await find('task-row');
    await eventually(async () => (await count('[data-testid="task-row"]')) >= 10, 'the tasks are listed');
    await shot(`real-${era}-scaffolder`);

    // Sessions: shown, or what this era lacks named by the migration that adds it.
    await go('sessions');
    const text = await eventually(async () => {
      const t = await bodyText();
      return (t.includes('Signing keys') || t.includes('signing')) && t;
    }, 'the sessions view shows');
    assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{16,}/);

    // Knex: Backstage's own tables; the 2022 era has a lock left held.
    await go('knex');
    await find('knex-row');
    if (era === '2022-08') {
      await eventually(async () => (await count('[data-testid="knex-table"] tr.selected')) >= 1, 'the held lock stands out');
    }
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
  });
}

/** The stages of the connection test shown in Connections: `{name, outcome, text}` of each. */
async function stageOutcomes() {
  const list = await find('test-stages');
  const items = await list.findElements(tid('test-stage'));
  return Promise.all(
    items.map(async (i) => ({
      name: await i.getAttribute('data-name'),
      outcome: await i.getAttribute('data-outcome'),
      text: await i.getText(),
    })),
  );
}

/** The Health section's findings once the doctor answered: `{id, severity}` of each. */
async function healthFindings() {
  const health = await find('health');
  return eventually(async () => {
    if ((await health.findElements(tid('error'))).length > 0) {
      throw new Error(`the health section shows an error: ${await health.getText()}`);
    }
    const items = await health.findElements(tid('finding'));
    if (items.length === 0 && (await health.findElements(tid('health-passed'))).length === 0) return false;
    return Promise.all(
      items.map(async (f) => ({ el: f, id: await f.getAttribute('data-id'), severity: await f.getAttribute('data-severity') })),
    );
  }, 'the health section shows its findings', 120000);
}

e2e('the Overview shows the health findings, worst first, and leads to the view of a held Knex lock', async () => {
  // The demo installation: findings ranked, no error.
  driver = await open(['--profile', 'demo']);
  const demo = await healthFindings();
  const order = ['critical', 'warning', 'info', 'ok'];
  const ranks = demo.map((f) => order.indexOf(f.severity));
  assert.ok(ranks.every((r) => r >= 0), JSON.stringify(demo.map((f) => f.severity)));
  assert.ok(ranks.every((r, i) => i === 0 || ranks[i - 1] <= r), `not ranked: ${demo.map((f) => f.severity)}`);
  assert.equal(await count('[data-testid="health"] [data-testid="error"]'), 0, await bodyText());
  await find('database-row');
  await shot('overview-health');
  await close();

  // The 2022 installation has a Knex lock left held: critical, first, with its unlock command.
  await useInstallation('bs202208_');
  const held = await eventually(async () => {
    const all = await healthFindings();
    return all.find((f) => f.id === 'knex.lock_held') ?? false;
  }, 'the held Knex lock is a finding', 120000);
  assert.equal(held.severity, 'critical');
  const first = (await healthFindings())[0];
  assert.equal(first.severity, 'critical', `the first finding is ${first.id}`);
  assert.match(await (await held.el.findElement(tid('severity'))).getText(), /critical/i);
  const next = await (await held.el.findElement(tid('finding-next'))).getText();
  assert.match(next, /bsi --profile demo --prefix bs202208_ .*knex unlock/, next);
  assert.ok(await held.el.findElement(tid('copy-command')));
  await shot('overview-health-knex');
  await (await held.el.findElement(tid('finding-open'))).click();
  await find('view-knex');
  await find('knex-row');
});

e2e('an unknown profile shows a clear error in the window', async () => {
  driver = await open(['--profile', 'no-such-profile']);
  const err = await find('error');
  const text = await err.getText();
  assert.match(text, /not_found/);
  assert.match(text, /no-such-profile/);
});

e2e('connecting through a profile in Connections, then the shortcuts overlay', async () => {
  driver = await open([]);
  await go('connections');
  const row = await eventually(async () => {
    for (const r of await driver.findElements(tid('profile-row'))) {
      if ((await r.getText()).includes('demo')) return r;
    }
    return false;
  }, 'the demo profile is listed');
  await row.findElement(css('td')).click();
  assert.match(await (await find('keyring-status')).getText(), /keyring/i);
  await (await find('test-connection')).click();
  const result = await visible('test-result');
  assert.match(await result.getText(), /Connected/);
  assert.match(await result.getText(), /read-only/);
  // Each stage of the test, passed, with its time.
  const stages = await stageOutcomes();
  assert.deepEqual(stages.map((s) => s.name), ['credentials', 'tcp', 'tls_offer', 'session', 'query']);
  assert.ok(stages.every((s) => s.outcome === 'passed' && /\d+ ms/.test(s.text)), JSON.stringify(stages));
  await (await find('open-profile')).click();
  await eventually(async () => (await (await find('profile-name')).getText()) === 'demo', 'the header names demo');
  assert.match(await (await find('mode-badge')).getText(), /read-only/i);
  await go('overview');
  await find('database-row');

  // `?` lists the shortcuts, Esc closes the list; Ctrl+2 switches to Entities.
  await driver.actions().sendKeys('?').perform();
  assert.match(await (await visible('shortcuts')).getText(), /Ctrl\+K/);
  await driver.actions().sendKeys(Key.ESCAPE).perform();
  await eventually(async () => (await count('[data-testid="shortcuts"]')) === 0, 'the overlay closes');
  await driver.actions().keyDown(Key.CONTROL).sendKeys('2').keyUp(Key.CONTROL).perform();
  await find('view-entities');
});

e2e('a profile added from a URI with a wrong password fails its test with what to do', async () => {
  driver = await open([]);
  await go('connections');
  const demo = await eventually(async () => {
    for (const r of await driver.findElements(tid('profile-row'))) {
      const t = await r.getText();
      const m = t.match(/localhost:(\d+)/);
      if (t.includes('demo') && m) return m[1];
    }
    return false;
  }, 'the demo profile shows its port');
  await (await find('add-profile')).click();
  await visible('add-profile-dialog');
  await (await find('profile-name-input')).sendKeys('wrong-password');
  await (await find('profile-url-input')).sendKeys(`postgresql://backstage@localhost:${demo}/postgres?sslmode=require`);
  await (await find('profile-password-input')).sendKeys('not-the-password');
  await (await find('profile-save')).click();
  const row = await eventually(async () => {
    for (const r of await driver.findElements(tid('profile-row'))) {
      if ((await r.getText()).includes('wrong-password')) return r;
    }
    return false;
  }, 'the new profile is listed');
  await row.findElement(css('td')).click();
  await (await find('test-connection')).click();
  const err = await visible('error');
  assert.equal(await err.getAttribute('data-code'), 'authentication');
  assert.match(await (await find('error-next')).getText(), /password/i);
  // TCP and TLS passed; the sign-in is the stage that failed.
  const stages = await stageOutcomes();
  assert.deepEqual(
    stages.map((s) => `${s.name}:${s.outcome}`),
    ['credentials:passed', 'tcp:passed', 'tls_offer:passed', 'session:failed'],
  );
  assert.match(stages[3].text, /authentication/);
  assert.ok(!(await bodyText()).includes('not-the-password'), 'the password is not shown');
});

e2e('a profile with a token sign-in and an SSH tunnel shows both in its details', async () => {
  driver = await open([]);
  await go('connections');
  await (await find('add-profile')).click();
  await visible('add-profile-dialog');
  await (await find('profile-name-input')).sendKeys('through-bastion');
  await (await find('profile-url-input')).sendKeys('postgresql://backstage@db.internal:5432/postgres?sslmode=verify-full');
  await (await find('add-profile-dialog')).findElement(css('.access-fields summary')).click();
  await (await find('profile-auth-select')).findElement(css('option[value="rds"]')).click();
  await (await find('profile-awsRegion-input')).sendKeys('eu-west-1');
  await (await find('profile-sshDestination-input')).sendKeys('ops@bastion.example.com');
  await (await find('profile-sshJump-input')).sendKeys('jump1, jump2');
  await (await find('profile-save')).click();
  const row = await eventually(async () => {
    for (const r of await driver.findElements(tid('profile-row'))) {
      if ((await r.getText()).includes('through-bastion')) return r;
    }
    return false;
  }, 'the new profile is listed');
  await row.findElement(css('td')).click();
  assert.equal(await (await find('profile-auth')).getText(), 'AWS RDS IAM token (region eu-west-1)');
  assert.equal(await (await find('profile-ssh')).getText(), 'ops@bastion.example.com · via jump1 → jump2');
});

e2e('filtering entities by kind and opening one', async () => {
  driver = await open(['--profile', 'demo']);
  await go('entities');
  await find('entity-row');
  await (await find('facet-kind')).click();
  // Values are shown as the entities spell them (`Component`).
  const option = await eventually(async () => {
    for (const o of await driver.findElements(tid('facet-option-kind'))) {
      if ((await o.getAttribute('data-value')).toLowerCase() === 'component') return o;
    }
    return false;
  }, 'the kind facet offers component');
  await option.findElement(css('input')).click();
  await (await find('facet-kind')).click();
  // Every row shown is a component.
  let seen = [];
  const refs = await eventually(async () => {
    const cells = await driver.findElements(css('[data-testid="entity-row"] [data-ref]'));
    seen = await Promise.all(cells.slice(0, 15).map((c) => c.getAttribute('data-ref')));
    return seen.length > 0 && seen.every((x) => x.startsWith('component:')) && seen;
  }, 'only components are listed').catch((e) => {
    throw new Error(`${e.message}; rows: ${seen.join(', ')}`);
  });
  assert.ok(refs.length > 0);
  assert.match(await (await find('entity-total')).getText(), /matching/);
  const first = (await driver.findElements(tid('entity-row')))[0];
  await first.click();
  const ref = await visible('entity-ref');
  assert.equal(await ref.getText(), refs[0]);
  // The JSON tab shows the entity as a tree.
  await (await find('tab-json')).click();
  assert.match(await (await find('json-tree')).getText(), /metadata/);
  await (await find('tab-relations')).click();
  await find('relations-out');
  await (await find('tab-overview')).click();
  await shot('entities');

  // The graph of that entity; expanding a node adds its neighbours.
  await (await find('open-graph')).click();
  await find('view-graph');
  const nodes = async () => Number(await (await find('graph-node-count')).getText());
  const deep = await eventually(async () => (await nodes()) > 0 && (await nodes()), 'the graph has nodes');
  // One hop: the entity's own neighbours, readable; expanding one of them adds its neighbours.
  await (await find('graph-depth')).findElement(css('option[value="1"]')).click();
  const before = await eventually(
    async () => (await nodes()) > 0 && (await nodes()) < deep && (await nodes()),
    'one hop shows fewer nodes',
  );
  // One hop is the entity and every entity a stored relation of it names (both directions are
  // stored, so its outgoing rows name them all).
  const neighbours = Number(
    psql(
      'backstage_plugin_catalog',
      `SELECT count(DISTINCT target_entity_ref) FROM relations WHERE lower(source_entity_ref) = lower(${sqlText(refs[0])})`,
    ),
  );
  assert.equal(before, 1 + neighbours, `one hop of ${refs[0]}`);
  await (await find('graph-node-list-toggle')).click();
  await find('graph-node-list');
  let grown = 0;
  for (let i = 0; i < 8 && !grown; i++) {
    const buttons = await driver.findElements(tid('graph-expand'));
    if (buttons.length === 0) break;
    const now = await nodes();
    const button = buttons[buttons.length - 1];
    await driver.executeScript('arguments[0].scrollIntoView({ block: "center" })', button);
    await button.click();
    try {
      grown = await eventually(async () => (await nodes()) > now && (await nodes()), 'the graph grows', 8000);
    } catch {
      grown = 0;
    }
  }
  assert.ok(grown > before, `expanding a node added nodes (${before} before, ${grown} after)`);
  // The canvas draws exactly the nodes the view counts.
  await eventually(
    async () => Number(await (await find('graph-canvas')).getAttribute('data-drawn')) === (await nodes()),
    'the canvas draws every node and no other',
  );
  await (await find('graph-node-list-toggle')).click();
  await shot('graph');
});

e2e('a failed task shows its error, also in the log', async () => {
  driver = await open(['--profile', 'demo']);
  await go('scaffolder');
  await find('task-row');
  const select = await find('task-status-filter');
  await select.findElement(css('option[value="failed"]')).click();
  const first = await eventually(async () => {
    const rows = await driver.findElements(tid('task-row'));
    if (rows.length === 0) return false;
    const statuses = await Promise.all(rows.slice(0, 10).map((r) => r.findElement(css('[data-status]')).getAttribute('data-status')));
    return statuses.every((s) => s === 'failed' || s === 'cancelled') && rows[0];
  }, 'only failed tasks are listed');
  await first.click();
  await find('task-detail');
  const error = await visible('task-error');
  const message = (await error.getText()).replace(/^Completion error\s*/, '').replace(/^Error:\s*/, '').trim();
  assert.ok(message.length > 5, message);
  await find('step-timeline');
  const failedSteps = await count('[data-testid="step"][data-status="failed"]');
  assert.ok(failedSteps >= 1, 'a step failed');
  const lines = await driver.findElements(tid('log-line'));
  assert.ok(lines.length > 0, 'the log has lines');
  // The log search finds the error among the lines.
  const search = await find('log-search');
  await search.sendKeys('Error:');
  const hit = await eventually(async () => {
    const hits = await driver.findElements(css('[data-testid="log-line"].hit'));
    for (const h of hits) {
      const t = await h.getText();
      if (t.includes(message.split('\n')[0].slice(0, 30))) return t;
    }
    return false;
  }, 'the error is found in the log');
  assert.match(hit, /Error:/);
  await shot('task');
});

e2e('sessions and tokens are masked', async () => {
  driver = await open(['--profile', 'demo']);
  await go('sessions');
  await (await find('tab-offline')).click();
  const cell = await find('masked-token');
  assert.match(await cell.getText(), /••••/);
  const text = await bodyText();
  // No JWT with its signature, and no long hex digest (a token hash) is on the page.
  assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{16,}/);
  assert.doesNotMatch(text, /\b[0-9a-f]{40,}\b/);
  await shot('sessions');
  // A pasted JWT shows header and claims, never its signature.
  await (await find('tab-jwt')).click();
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signature = 'c2lnbmF0dXJlLW5vdC10by1iZS1zaG93bi1hbnl3aGVyZQ';
  const jwt = `${b64({ alg: 'ES256', kid: 'k1' })}.${b64({ sub: 'user:default/ada', exp: 1 })}.${signature}`;
  await (await find('jwt-input')).sendKeys(jwt);
  await (await find('jwt-decode')).click();
  const result = await visible('jwt-result');
  const shown = await result.getText();
  assert.match(shown, /user:default\/ada/);
  assert.match(shown, /ES256/);
  assert.ok(!(await bodyText()).includes(signature), 'the signature is not shown');
});

e2e('a write in read-only mode is refused with the read_only error', async () => {
  driver = await open(['--profile', 'demo']);
  await go('migrations');
  await find('migration-row');
  await (await find('migrations-apply')).click();
  const err = await visible('error');
  assert.equal(await err.getAttribute('data-code'), 'read_only');
  const text = await err.getText();
  assert.match(text, /read_only/);
  assert.match(text, /write mode/i);
  // Nothing was asked to confirm: the server's refusal is the answer.
  assert.equal(await count('[data-testid="confirm-dialog"]'), 0);
});

e2e('an entity stored as something other than JSON is named as an unreadable row, and the rest shows', async () => {
  const catalog = 'backstage_plugin_catalog';
  // An entity with TechDocs, from the first page of each list.
  const ref = psql(
    catalog,
    "SELECT s.entity_ref FROM final_entities f JOIN refresh_state s ON s.entity_id = f.entity_id " +
      "WHERE f.final_entity::jsonb #>> '{metadata,annotations,backstage.io/techdocs-ref}' IS NOT NULL ORDER BY 1 LIMIT 1",
  );
  assert.ok(ref, 'the demo has an entity with TechDocs');
  const id = psql(catalog, `SELECT entity_id FROM refresh_state WHERE entity_ref = ${sqlText(ref)}`);
  const saved = psql(catalog, `SELECT final_entity FROM final_entities WHERE entity_id = ${sqlText(id)}`);
  psql(catalog, `UPDATE final_entities SET final_entity = '{not json' WHERE entity_id = ${sqlText(id)}`);
  try {
    driver = await open(['--profile', 'demo']);
    await go('entities');
    await (await find('entity-search')).sendKeys(ref.split('/').pop());
    const row = await eventually(async () => {
      for (const r of await driver.findElements(tid('entity-row'))) {
        if ((await r.findElement(css('[data-ref]')).getAttribute('data-ref')) === ref) return r;
      }
      return false;
    }, `${ref} is listed`);
    // textContent: the cell is clipped to its column, where getText() sees nothing.
    const problem = await row.findElement(tid('row-problem'));
    assert.match(await problem.getAttribute('textContent'), /unreadable row: the stored entity is not valid JSON/);
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
    await go('techdocs');
    const docs = await eventually(async () => {
      for (const r of await driver.findElements(tid('techdocs-row'))) {
        if ((await r.findElement(css('td')).getText()).trim() === ref) return r;
      }
      return false;
    }, `${ref} is listed in TechDocs`);
    assert.match(await (await docs.findElement(tid('row-problem'))).getAttribute('textContent'), /unreadable row in final_entities/);
    // The other entities with TechDocs show as they are.
    assert.ok((await count('[data-testid="techdocs-row"]')) > 1);
    assert.equal(await count('[data-testid="techdocs-row"] [data-testid="row-problem"]'), 1);
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
    await shot('unreadable-row');
  } finally {
    psql(catalog, `UPDATE final_entities SET final_entity = ${sqlText(saved)} WHERE entity_id = ${sqlText(id)}`);
  }
});

e2e('every other view shows the demo data without an error', async () => {
  driver = await open(['--profile', 'demo']);
  const noError = async (view) => {
    assert.equal(await count('[data-testid="error"]'), 0, `${view} shows an error: ${await bodyText()}`);
  };
  // The first cell of each row of a list, as the page holds it.
  const firstCells = (id) =>
    driver.executeScript(
      `return [...document.querySelectorAll('[data-testid="${id}"]')].map((r) => r.querySelector('td').textContent.trim())`,
    );
  const catalog = 'backstage_plugin_catalog';
  const rowsOf = (sql) => psql(catalog, sql).split('\n').filter(Boolean).sort();
  await go('errors');
  await find('error-row');
  await noError('processing errors');
  // Every entity whose processing failed, no other (the demo has fewer than a page of them).
  const errored = rowsOf("SELECT entity_ref FROM refresh_state WHERE errors IS NOT NULL AND btrim(errors) NOT IN ('', '[]')");
  assert.ok(errored.length > 0 && errored.length <= 100, `${errored.length} errored`);
  assert.deepEqual((await firstCells('error-row')).sort(), errored);
  await go('orphans');
  await find('orphan-row');
  await noError('orphans');
  // Unreferenced (no parent emits them) or marked backstage.io/orphan by the stitcher.
  const orphans = rowsOf(
    "SELECT s.entity_ref FROM refresh_state s LEFT JOIN final_entities f ON f.entity_id = s.entity_id " +
      "WHERE NOT EXISTS (SELECT 1 FROM refresh_state_references r WHERE r.target_entity_ref = s.entity_ref) " +
      "OR f.final_entity::jsonb #>> '{metadata,annotations,backstage.io/orphan}' = 'true'",
  );
  assert.ok(orphans.length > 0 && orphans.length <= 100, `${orphans.length} orphans`);
  assert.deepEqual((await firstCells('orphan-row')).sort(), orphans);
  await go('search');
  await (await find('search-input')).sendKeys('service');
  await find('search-hit');
  // Highlights are elements, not markup in text.
  assert.ok((await count('[data-testid="search-hit"] mark')) > 0, 'matches are highlighted');
  assert.doesNotMatch(await bodyText(), /<mark>|\uE000/);
  await noError('search');
  await shot('search');
  await go('techdocs');
  await find('techdocs-row');
  await noError('techdocs');
  const withDocs = rowsOf(
    "SELECT s.entity_ref FROM final_entities f JOIN refresh_state s ON s.entity_id = f.entity_id " +
      "WHERE f.final_entity::jsonb #>> '{metadata,annotations,backstage.io/techdocs-ref}' IS NOT NULL",
  );
  assert.ok(withDocs.length > 0 && withDocs.length <= 200, `${withDocs.length} with TechDocs`);
  assert.deepEqual((await firstCells('techdocs-row')).sort(), withDocs);
  await go('tables');
  const tables = await eventually(async () => {
    for (const r of await driver.findElements(tid('table-row'))) {
      if ((await r.findElement(css('td')).getText()).trim() === 'final_entities') return r;
    }
    return false;
  }, 'final_entities is listed');
  await tables.findElement(css('td')).click();
  await find('data-row');
  await noError('tables');
  // The first page of final_entities: 100 rows, or all of them.
  const stitched = Number(psql(catalog, 'SELECT count(*) FROM final_entities'));
  await eventually(async () => (await count('[data-testid="data-row"]')) === Math.min(100, stitched), 'a page of final_entities');
  await shot('tables');
  await go('knex');
  await eventually(async () => (await count('[data-testid="knex-table"], [data-testid="empty"]')) > 0, 'knex state');
  await noError('knex');
  await go('migrations');
  await find('migration-row');
  await noError('migrations');
  // One row per area of migrations/, each with every one of its files applied (the demo was
  // made by them): area, then the applied count.
  const areas = readdirSync(join(dirname(new URL(import.meta.url).pathname), '..', '..', 'migrations')).sort();
  const rows = await driver.executeScript(
    "return [...document.querySelectorAll('[data-testid=\"migration-row\"]')].map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent.trim()))",
  );
  assert.deepEqual(rows.map((r) => r[0]).sort(), areas);
  for (const r of rows) {
    const files = readdirSync(join(dirname(new URL(import.meta.url).pathname), '..', '..', 'migrations', r[0])).filter((f) => f.endsWith('.sql'));
    assert.equal(Number(r[3]), files.length, `${r[0]}: ${r.join(' | ')}`);
  }
});

/**
 * A TCP proxy on a free loopback port to `target`: `down()` closes its port and every
 * connection through it (as a server restart or a network cut would), `up()` opens the same
 * port again.
 */
async function proxyTo(target) {
  const sockets = new Set();
  let server;
  let port = 0;
  const listen = () =>
    new Promise((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = server.address().port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async down() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    up: listen,
    async stop() {
      await this.down();
    },
  };
}

e2e('after the server goes away the header says so, and the next action reconnects', async () => {
  const bsi = join(dirname(application), 'bsi');
  const demo = JSON.parse(execFileSync(bsi, ['profile', 'show', 'demo', '--json'], { encoding: 'utf8' }));
  const proxy = await proxyTo(demo.port);
  try {
    execFileSync(
      bsi,
      ['profile', 'add', 'proxied', '--host', '127.0.0.1', '--port', String(proxy.port), '--user', 'bsi_e2e_proxy',
        '--sslmode', 'require', '--password-stdin'],
      { input: 'bsi-e2e-proxy\n', encoding: 'utf8' },
    );
    driver = await open(['--profile', 'proxied']);
    await go('entities');
    await find('entity-row');
    assert.equal(await (await find('connection-dot')).getAttribute('data-state'), 'connected');
    assert.equal(await count('[data-testid="connection-lost"]'), 0);

    // The server goes away: the next read fails as unreachable and the header says so.
    await proxy.down();
    await go('scaffolder');
    const err = await visible('error', 60000);
    assert.equal(await err.getAttribute('data-code'), 'unreachable', await err.getText());
    await visible('connection-lost');
    assert.equal(await (await find('connection-dot')).getAttribute('data-state'), 'lost');
    await shot('connection-lost');

    // It is back: Reconnect reads the view again, through new connections, without a restart.
    await proxy.up();
    await (await find('reconnect')).click();
    await find('task-row', 60000);
    await eventually(async () => (await count('[data-testid="connection-lost"]')) === 0, 'the header no longer says lost');
    assert.equal(await (await find('connection-dot')).getAttribute('data-state'), 'connected');
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
    await go('entities');
    await find('entity-row');
  } finally {
    await proxy.stop().catch(() => {});
  }
});

/** Restarts the demo's PostgreSQL (`pg_ctl restart`, fast), as its owner. */
function restartDemo() {
  const bin = execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], { encoding: 'utf8' }).trim();
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const [cmd, ...args] = [...asOwner, join(bin, 'pg_ctl'), '-D', join(demoDir, 'data'), '-m', 'fast', '-w', 'restart'];
  execFileSync(cmd, args, { stdio: 'ignore' });
}

e2e('after the server restarts, the app reads again without being restarted', async () => {
  driver = await open(['--profile', 'demo']);
  await go('entities');
  await find('entity-row');
  const before = psql('postgres', "SELECT pg_postmaster_start_time()");
  restartDemo();
  assert.notEqual(psql('postgres', "SELECT pg_postmaster_start_time()"), before, 'the server restarted');
  // The next read: its pool's sessions ended with the server. It either reads through new ones
  // at once, or says the connection ended and Reconnect reads again.
  await go('scaffolder');
  const first = await eventually(async () => {
    if ((await count('[data-testid="task-row"]')) > 0) return 'rows';
    if ((await count('[data-testid="error"]')) > 0) return 'error';
    return false;
  }, 'the scaffolder view answers after the restart', 60000);
  if (first === 'error') {
    const err = await find('error');
    assert.equal(await err.getAttribute('data-code'), 'unreachable', await err.getText());
    assert.match(await err.getText(), /ended|reconnect/i);
    await (await find('reconnect')).click();
    await find('task-row', 60000);
  }
  await go('entities');
  await find('entity-row', 60000);
  await eventually(async () => (await count('[data-testid="connection-lost"]')) === 0, 'the header no longer says lost');
  assert.equal(await (await find('connection-dot')).getAttribute('data-state'), 'connected');
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
});

/** The Knex view's row of `database`'s `public.knex_migrations`. */
async function knexRowNow(database) {
  for (const r of await driver.findElements(tid('knex-row'))) {
    const cells = await r.findElements(css('td'));
    if ((await cells[0].getText()) === database && (await cells[1].getText()) === 'public.knex_migrations') return r;
  }
  return false;
}

async function knexRow(database) {
  return eventually(() => knexRowNow(database), `the Knex view lists ${database}`);
}

/** Selects the profile `name` in Connections. */
async function selectProfile(name) {
  await go('connections');
  const row = await eventually(async () => {
    for (const r of await driver.findElements(tid('profile-row'))) {
      if ((await (await r.findElement(css('td strong'))).getText()) === name) return r;
    }
    return false;
  }, `the profile ${name} is listed`);
  await row.findElement(css('td')).click();
  await eventually(
    async () => (await (await find('profile-panel')).findElement(css('h2')).getText()) === name,
    `the panel shows ${name}`,
  );
}

e2e('a held Knex lock of 2022: refused read-only, released through the dialog once write mode is typed on', async () => {
  const db = 'bs202208_scaffolder';
  const lockState = () => psql(db, 'SELECT string_agg(is_locked::text, \',\') FROM knex_migrations_lock');
  assert.equal(lockState(), '1', 'the 2022 fixture holds its Knex lock');
  const name = 'knex-2022';
  addDemoProfile(name, ['--prefix', 'bs202208_']);
  try {
    driver = await open(['--profile', name], TRACED);
    assert.match(await (await find('mode-badge')).getText(), /read-only/i);
    await go('knex');
    let row = await knexRow(db);
    assert.match(await row.getText(), /LOCK HELD/);
    assert.equal(await row.getAttribute('class'), 'selected');
    await shot('knex-held');

    // Read-only: no dialog asks, the server refuses, the lock stays.
    await (await row.findElement(tid('knex-unlock'))).click();
    const refused = await visible('error');
    assert.equal(await refused.getAttribute('data-code'), 'read_only', await refused.getText());
    assert.equal(await count('[data-testid="confirm-dialog"]'), 0);
    assert.equal(lockState(), '1', 'nothing was written in read-only mode');

    // Write mode for this profile: the button stays disabled until its name is typed.
    await selectProfile(name);
    await (await find('write-mode-on')).click();
    const dialog = await visible('confirm-dialog');
    assert.match(await dialog.getText(), new RegExp(`Type ${name} to confirm`));
    const ok = await find('confirm-ok');
    assert.equal(await ok.isEnabled(), false);
    const input = await find('confirm-input');
    await input.sendKeys(name.slice(0, -1));
    assert.equal(await ok.isEnabled(), false, 'part of the name does not confirm');
    await input.sendKeys(name.slice(-1));
    await eventually(() => ok.isEnabled(), 'the typed name enables the button');
    await ok.click();
    await eventually(async () => /write mode/i.test(await (await find('mode-badge')).getText()), 'the header says WRITE MODE');
    assert.match(bsi(['profile', 'show', name, '--json']), /"write_mode":\s*true/);

    // The unlock dialog names the database and asks for it.
    await go('knex');
    row = await knexRow(db);
    await (await row.findElement(tid('knex-unlock'))).click();
    const unlock = await visible('confirm-dialog');
    const text = await unlock.getText();
    assert.match(text, /is_locked = 0/);
    assert.match(text, new RegExp(`public\\.knex_migrations_lock of ${db}`));
    const release = await find('confirm-ok');
    assert.equal(await release.isEnabled(), false);
    await (await find('confirm-input')).sendKeys(db);
    await eventually(() => release.isEnabled(), 'the typed database enables the button');
    await release.click();
    const result = await visible('unlock-result');
    assert.match(await result.getText(), new RegExp(`Released the lock .*knex_migrations_lock in ${db}`));
    await eventually(async () => {
      const r = await knexRowNow(db);
      return r && (await (await r.findElements(css('td')))[4].getText()) === 'free';
    }, 'the row shows the lock free');
    assert.equal(lockState(), '0', 'is_locked is 0 on the server');
    assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
  } finally {
    // The other tests of the 2022 installation expect its lock held.
    psql(db, 'UPDATE knex_migrations_lock SET is_locked = 1');
    try {
      bsi(['profile', 'remove', name]);
    } catch {
      // Best effort: the profile only exists in this run's folder.
    }
  }
});

/** Sessions of the app that run or wait for a query (in any database of the demo server). */
function appQueries() {
  return psql(
    'postgres',
    `SELECT count(*) FROM pg_stat_activity WHERE application_name = ${sqlText(APP_NAME)} AND state <> 'idle'`,
  );
}

e2e('Cancel on a read that waits for a lock cancels it on the server and leaves no query of the app', async () => {
  const db = 'backstage_plugin_scaffolder';
  driver = await open(['--profile', 'demo'], TRACED);
  // The tasks read once, then a view that does not read them, with nothing of the app running.
  await go('scaffolder');
  await find('task-row');
  await go('connections');
  await find('profile-row');
  await waitFor(() => appQueries() === '0', 'the app has no query running');

  const held = () =>
    psql(
      db,
      `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
       WHERE a.application_name = 'bsi-e2e-locker' AND l.granted AND l.mode = 'AccessExclusiveLock'
         AND l.relation = 'tasks'::regclass`,
    ) === '1';
  const lock = await holdInTransaction(db, 'LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE', held);
  try {
    await go('scaffolder');
    // The app's read of the tasks waits for the lock (the lock timeout ends it after 10 s).
    await waitFor(
      () =>
        psql(
          'postgres',
          `SELECT count(*) FROM pg_stat_activity WHERE application_name = ${sqlText(APP_NAME)}
           AND datname = ${sqlText(db)} AND wait_event_type = 'Lock'`,
        ) !== '0',
      "the app's read waits for the lock",
      8000,
    );
    const cancel = await visible('cancel-op', 8000);
    await cancel.click();
    const err = await visible('error');
    assert.equal(await err.getAttribute('data-code'), 'cancelled', await err.getText());
    assert.match(await err.getText(), /cancelled/i);
    assert.equal(await count('[data-testid="task-row"]'), 0);
    // The lock is still held, and no query of the app runs or waits for it any more.
    assert.ok(held(), 'the lock is still held');
    await waitFor(() => appQueries() === '0', 'no query of the app is left on the server', 5000);
    assert.equal(
      psql(db, "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'tasks'::regclass"),
      '0',
      'nothing waits for the lock',
    );
  } finally {
    await lock.release();
  }
  // Retry reads the tasks once the lock is gone.
  const retry = await eventually(async () => {
    for (const b of await (await find('error')).findElements(css('button'))) {
      if ((await b.getText()) === 'Retry') return b;
    }
    return false;
  }, 'the error offers Retry');
  await retry.click();
  await find('task-row');
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
});

/** The detail pane's tab `id` (scoped to the pane: other tab bars use the same ids). */
async function paneTab(pane, id) {
  const tab = await eventually(async () => {
    const tabs = await driver.findElements(css(`[data-testid="${pane}"] [data-testid="tab-${id}"]`));
    return tabs[0] ?? false;
  }, `the ${pane} has the tab ${id}`);
  await tab.click();
  return tab;
}

/** The text of the entity pane's body once its content is shown. */
async function paneBody(pane) {
  return (await (await find(pane)).findElement(css('.pane-body:last-child'))).getText();
}

/** Opens `ref` in Entities through the search field. */
async function openEntity(ref) {
  await go('entities');
  const search = await find('entity-search');
  await search.clear();
  await search.sendKeys(ref.split('/').pop());
  const cell = await eventually(async () => {
    for (const c of await driver.findElements(css('[data-testid="entity-row"] [data-ref]'))) {
      if ((await c.getAttribute('data-ref')) === ref) return c;
    }
    return false;
  }, `${ref} is listed`);
  await cell.click();
  await eventually(async () => (await (await visible('entity-ref')).getText()) === ref, `the pane shows ${ref}`);
}

e2e('every tab of an entity shows what the catalog, scaffolder and auth databases hold', async () => {
  // A component made from a template, with relations, and the tasks that ran that template.
  const catalog = 'backstage_plugin_catalog';
  const candidates = psqlJson(
    catalog,
    `SELECT json_agg(json_build_array(f.entity_ref, f.final_entity::jsonb #>> '{metadata,annotations,backstage.io/source-template}')
       ORDER BY f.entity_ref)
     FROM final_entities f JOIN refresh_state r USING (entity_id)
     WHERE f.entity_ref LIKE 'component:default/%' AND coalesce(r.errors, '') IN ('', '[]')
       AND f.final_entity::jsonb #> '{metadata,annotations}' ? 'backstage.io/source-template'
       AND EXISTS (SELECT 1 FROM relations x WHERE x.source_entity_ref = f.entity_ref)`,
  );
  assert.ok(candidates?.length > 0, 'the demo has components made from templates');
  const tasksFor = (ref, template) => {
    const [kind, rest] = ref.split(':');
    const [ns, name] = rest.split('/');
    const ids = psqlJson(
      'backstage_plugin_scaffolder',
      `SELECT coalesce(json_agg(DISTINCT id), '[]') FROM (
         SELECT t.id::text AS id FROM tasks t
          WHERE lower(t.spec::json #>> '{templateInfo,entityRef}') = lower(${sqlText(template)})
         UNION
         SELECT e.task_id::text FROM task_events e
          WHERE e.event_type = 'completion' AND (strpos(lower(e.body::json ->> 'output'), ${sqlText(ref)}) > 0
            OR strpos(lower(e.body::json ->> 'output'), ${sqlText(`/catalog/${ns}/${kind}/${name}`)}) > 0)) x`,
    );
    return ids;
  };
  let ref;
  let template;
  let tasks = [];
  for (const [r, t] of candidates) {
    tasks = tasksFor(r, t);
    if (tasks.length > 0) {
      [ref, template] = [r, t];
      break;
    }
  }
  assert.ok(ref, 'a component made from a template that ran');
  const entity = psqlJson(catalog, `SELECT final_entity::jsonb FROM final_entities WHERE entity_ref = ${sqlText(ref)}`);
  const entityId = psql(catalog, `SELECT entity_id FROM refresh_state WHERE entity_ref = ${sqlText(ref)}`);
  const outgoing = Number(
    psql(catalog, `SELECT count(*) FROM (SELECT DISTINCT type, target_entity_ref FROM relations WHERE source_entity_ref = ${sqlText(ref)}) d`),
  );
  const incoming = Number(
    psql(catalog, `SELECT count(*) FROM (SELECT DISTINCT type, source_entity_ref FROM relations WHERE target_entity_ref = ${sqlText(ref)}) d`),
  );

  driver = await open(['--profile', 'demo'], TRACED);
  await openEntity(ref);
  const pane = 'entity-detail';

  await paneTab(pane, 'overview');
  const overview = await eventually(async () => {
    const t = await paneBody(pane);
    return t.includes('uid') && t;
  }, 'the overview is shown');
  assert.match(overview, /in final_entities/);
  assert.ok(overview.includes(entity.metadata.uid), 'the uid');
  for (const k of ['type', 'lifecycle', 'owner']) {
    if (typeof entity.spec?.[k] === 'string') assert.ok(overview.includes(entity.spec[k]), `spec.${k}: ${entity.spec[k]}`);
  }
  assert.ok(overview.includes(template), 'the source-template annotation');

  await paneTab(pane, 'json');
  const json = await (await find('json-tree')).getText();
  assert.match(json, /metadata/);
  assert.ok(json.includes(entity.metadata.name));

  await paneTab(pane, 'yaml');
  const yaml = await (await find('entity-yaml')).getText();
  assert.match(yaml, /^kind: Component$/m);
  assert.match(yaml, new RegExp(`^  name: ${entity.metadata.name}$`, 'm'));

  const relTab = await paneTab(pane, 'relations');
  assert.equal(await relTab.getText(), `Relations ${outgoing + incoming}`);
  const rows = async (dir) => (await driver.findElements(css(`[data-testid="relations-${dir}"] tr`))).length;
  await find('relations-out');
  assert.equal(await rows('out'), outgoing, 'outgoing relations');
  assert.equal(await rows('in'), incoming, 'incoming relations');

  await paneTab(pane, 'processing');
  const processing = await eventually(async () => {
    const t = await paneBody(pane);
    return t.includes('entity_id') && t;
  }, 'the processing state is shown');
  assert.ok(processing.includes(entityId), 'the refresh_state entity_id');
  assert.match(processing, /No processing errors/);

  await paneTab(pane, 'tasks');
  const taskRows = await eventually(async () => {
    const r = await driver.findElements(css('[data-testid="entity-tasks"] tbody tr'));
    return r.length > 0 && r;
  }, 'the tasks of the entity are listed');
  // The tasks of the template and those whose output names the entity, the newest 50.
  assert.equal(taskRows.length, Math.min(tasks.length, 50));
  if (tasks.length > 50) assert.match(await paneBody(pane), new RegExp(`50 of ${tasks.length} tasks shown`));
  assert.ok((await taskRows[0].getText()).includes(template));

  await paneTab(pane, 'why');
  const verdict = await find('why-verdict');
  assert.match(await verdict.getAttribute('data-kind'), /^(fine|stale)$/);
  assert.ok((await driver.findElements(css('[data-testid="why-steps"] tr'))).length > 2);
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
  // No Sessions tab for a component.
  assert.equal(await count(`[data-testid="${pane}"] [data-testid="tab-sessions"]`), 0);

  // A user with offline sessions: the Sessions tab lists them, masked.
  const [user, sessions] = psql(
    'backstage_plugin_auth',
    `SELECT user_entity_ref, count(*) FROM offline_sessions GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
  ).split('|');
  const tokenIds = psql('backstage_plugin_auth', `SELECT id FROM offline_sessions WHERE user_entity_ref = ${sqlText(user)}`).split('\n');
  await openEntity(user);
  await paneTab(pane, 'sessions');
  const offline = await eventually(async () => {
    const r = await driver.findElements(css(`[data-testid="${pane}"] [data-testid="offline-sessions"] tbody tr`));
    return r.length > 0 && r;
  }, 'the offline sessions of the user are listed');
  assert.equal(offline.length, Number(sessions));
  const shown = await paneBody(pane);
  for (const id of tokenIds) assert.ok(!shown.includes(id), 'token ids are masked');
  assert.match(await (await find('masked-token')).getText(), /••••/);
  await shot('entity-sessions');
});

e2e('real Backstage data: an unstitched entity with its processing error, and every tab of two tasks', async () => {
  const prefix = 'bscurrent_';
  const catalog = `${prefix}catalog`;
  const scaffolder = `${prefix}scaffolder`;
  await useInstallation(prefix, TRACED);

  // Processing errors: the entities psql finds, and one opened from the list.
  const errored = psqlJson(
    catalog,
    `SELECT json_agg(json_build_object('ref', entity_ref, 'errors', errors::json) ORDER BY entity_ref)
     FROM refresh_state WHERE coalesce(errors, '') NOT IN ('', '[]')`,
  );
  await go('errors');
  await eventually(async () => (await count('[data-testid="error-row"]')) === errored.length, `${errored.length} entities with errors`);
  const target = errored.find((e) => e.ref === 'component:default/missing-owner') ?? errored[0];
  const link = await eventually(async () => {
    for (const b of await driver.findElements(css('[data-testid="error-row"] .ref-link button'))) {
      if ((await b.getText()) === target.ref) return b;
    }
    return false;
  }, `${target.ref} is listed`);
  await link.click();
  await eventually(async () => (await (await visible('entity-ref')).getText()) === target.ref, 'the entity opens');
  const processingTab = await paneTab('entity-detail', 'processing');
  assert.equal(await processingTab.getText(), `Processing (${target.errors.length})`);
  const shownErrors = await eventually(async () => {
    const e = await driver.findElements(tid('processing-error'));
    return e.length > 0 && e;
  }, 'the processing errors are shown');
  assert.equal(shownErrors.length, target.errors.length);
  const first = await shownErrors[0].getText();
  assert.ok(first.startsWith(`${target.errors[0].name}: `), first);
  assert.ok(first.includes(target.errors[0].message.split('\n')[0].slice(0, 60)), first);
  await paneTab('entity-detail', 'overview');
  assert.match(await paneBody('entity-detail'), /not stitched/);
  await paneTab('entity-detail', 'why');
  assert.equal(await (await find('why-verdict')).getAttribute('data-kind'), 'processing_error');

  // An open task that stores secrets: its keys only.
  await go('scaffolder');
  await find('task-row');
  await (await find('task-status-filter')).findElement(css('option[value="open"]')).click();
  const openRow = await eventually(async () => {
    const rows = await driver.findElements(tid('task-row'));
    if (rows.length === 0) return false;
    const statuses = await Promise.all(rows.map((r) => r.findElement(css('[data-status]')).getAttribute('data-status')));
    return statuses.every((s) => s === 'open') && rows[0];
  }, 'only open tasks are listed');
  await openRow.click();
  const openId = await (await visible('task-id')).getText();
  const secrets = psqlJson(scaffolder, `SELECT secrets::jsonb FROM tasks WHERE id = ${sqlText(openId)}`);
  assert.ok(secrets && Object.keys(secrets).length > 0, 'the open task stores secrets');
  await paneTab('task-detail', 'secrets');
  const secretsBox = await find('task-secrets');
  const keys = await Promise.all((await secretsBox.findElements(css('.chip'))).map((c) => c.getText()));
  assert.deepEqual([...keys].sort(), Object.keys(secrets).sort());
  assert.match(await secretsBox.getText(), /values are never shown/);
  const page = await bodyText();
  for (const [k, v] of Object.entries(secrets)) {
    assert.ok(!page.includes(String(v).slice(0, 24)), `the value of ${k} is not shown`);
  }
  await checkTaskTabs(scaffolder, openId);
  await shot('task-secrets');

  // A completed task with output: steps, log, parameters and output as the database has them.
  const withOutput = psql(
    scaffolder,
    `SELECT t.id FROM tasks t JOIN task_events e ON e.task_id = t.id
     WHERE t.status = 'completed' AND e.event_type = 'completion' AND e.body::jsonb #> '{output,links}' IS NOT NULL`,
  ).split('\n');
  assert.ok(withOutput.length > 0 && withOutput[0], 'completed tasks with output links');
  await (await find('task-status-filter')).findElement(css('option[value="completed"]')).click();
  await eventually(async () => {
    const rows = await driver.findElements(tid('task-row'));
    if (rows.length === 0) return false;
    const statuses = await Promise.all(rows.map((r) => r.findElement(css('[data-status]')).getAttribute('data-status')));
    return statuses.every((s) => s === 'completed');
  }, 'only completed tasks are listed');
  let id = openId;
  const n = await count('[data-testid="task-row"]');
  for (let i = 0; i < n && !withOutput.includes(id); i++) {
    const before = id;
    await (await find('task-list')).findElement(css(`[data-testid="task-row"][data-index="${i}"]`)).click();
    id = await eventually(async () => {
      const t = await (await visible('task-id')).getText();
      return t !== before && t;
    }, 'the task opens');
  }
  assert.ok(withOutput.includes(id), `a task with output was found (${withOutput.join(', ')})`);
  await checkTaskTabs(scaffolder, id);
  await paneTab('task-detail', 'output');
  const links = psqlJson(
    scaffolder,
    `SELECT e.body::jsonb #> '{output,links}' FROM task_events e WHERE e.task_id = ${sqlText(id)} AND e.event_type = 'completion'`,
  );
  assert.ok(links[0]?.url, JSON.stringify(links));
  const output = await (await find('task-detail')).findElement(tid('json-tree'));
  // Unfold the tree down to the links.
  for (let i = 0; i < 5; i++) {
    const folded = await output.findElements(css('button.j-toggle[aria-expanded="false"]'));
    if (folded.length === 0) break;
    for (const toggle of folded) await toggle.click();
  }
  const outputText = await output.getText();
  assert.ok(outputText.includes(links[0].url), outputText);
  assert.ok(outputText.includes(links[0].title), outputText);
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
});

/** The steps, log and parameters tabs of the open task `id`, against the database. */
async function checkTaskTabs(db, id) {
  const events = Number(psql(db, `SELECT count(*) FROM task_events WHERE task_id = ${sqlText(id)}`));
  const spec = psqlJson(db, `SELECT spec::jsonb FROM tasks WHERE id = ${sqlText(id)}`);
  const steps = spec.steps ?? [];
  assert.ok(steps.length > 0, 'the task has steps');
  // The previous task's content stays shown until this one is read: wait for this one's.
  await paneTab('task-detail', 'log');
  await eventually(
    async () => (await (await find('task-detail')).findElement(css('[data-testid="tab-log"]')).getText()) === `Log (${events})`,
    `the log tab counts ${events} events`,
  );
  await eventually(async () => {
    const timeline = await (await find('step-timeline')).getText();
    return (
      (await count('[data-testid="step-timeline"] [data-testid="step"]')) === steps.length &&
      steps.every((s) => timeline.includes(s.name ?? s.id))
    );
  }, `the timeline shows the ${steps.length} steps of the spec`);
  if (events > 0 && events <= 30) {
    await eventually(async () => (await count('[data-testid="log-line"]')) === events, `${events} log lines`);
  }
  await paneTab('task-detail', 'parameters');
  const keys = Object.keys(spec.parameters ?? {});
  assert.ok(keys.length > 0, 'the task has parameters');
  await eventually(async () => {
    const text = await (await (await find('task-detail')).findElement(tid('json-tree'))).getText();
    return keys.every((k) => text.includes(`${k}:`));
  }, `the parameters ${keys.join(', ')} are shown`);
}

// The sidebar's views: id, label, `g` letter (ui/src/lib/nav.tsx), as the help lists them.
const VIEW_KEYS = [
  ['overview', 'Overview', 'o'],
  ['entities', 'Entities', 'e'],
  ['errors', 'Processing errors', 'p'],
  ['orphans', 'Orphans', 'r'],
  ['graph', 'Graph', 'g'],
  ['scaffolder', 'Scaffolder', 's'],
  ['sessions', 'Sessions & tokens', 'a'],
  ['search', 'Search', 'f'],
  ['techdocs', 'TechDocs', 'd'],
  ['tables', 'Tables', 't'],
  ['console', 'SQL console', 'q'],
  ['migrations', 'Migrations', 'm'],
  ['knex', 'Knex', 'k'],
  ['connections', 'Connections', 'c'],
];

const press = (...keys) => driver.actions().sendKeys(...keys).perform();
const chord = (mod, key) => driver.actions().keyDown(mod).sendKeys(key).keyUp(mod).perform();
/** The `data-testid` (or tag) of the focused element. */
const focused = () =>
  driver.executeScript(
    'const a = document.activeElement; return a ? (a.getAttribute("data-testid") || a.tagName.toLowerCase()) : null;',
  );
async function inView(id) {
  await find(`view-${id}`);
}
/** The entity ref of row `i` of the Entities list. */
async function entityRowRef(i) {
  return (await driver.findElement(css(`[data-testid="entity-row"][data-index="${i}"] [data-ref]`))).getAttribute('data-ref');
}
async function shownEntity() {
  return (await visible('entity-ref')).getText();
}

e2e('every keyboard shortcut the help lists does what it says', async () => {
  driver = await open(['--profile', 'demo']);
  await find('database-row');

  // ?: the list, with the keys and views below; Esc closes it.
  await press('?');
  const overlay = await visible('shortcuts');
  const tables = await overlay.findElements(css('table.shortcuts'));
  const rowsOf = async (t) =>
    Promise.all(
      (await t.findElements(css('tr'))).map(async (r) => [
        await (await r.findElement(css('th'))).getText(),
        await (await r.findElement(css('td'))).getText(),
      ]),
    );
  const listed = (await rowsOf(tables[0])).map(([k]) => k.replace(/\s+/g, ' '));
  assert.deepEqual(listed, [
    '/ or Ctrl+K',
    'Alt+← or Backspace',
    'Ctrl+1 … Ctrl+9',
    'g then a letter',
    '↑ / ↓ or j / k',
    'Esc',
    '?',
  ]);
  const views = await rowsOf(tables[1]);
  assert.deepEqual(
    views.map(([k, label]) => [k.replace(/\s+/g, ' '), label]),
    VIEW_KEYS.map(([, label, key], i) => [i < 9 ? `Ctrl+${i + 1} g ${key}` : `g ${key}`, label]),
  );
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="shortcuts"]')) === 0, 'Esc closes the list');

  // Ctrl+1 … Ctrl+9: the n-th view.
  for (const [i, [id]] of VIEW_KEYS.slice(0, 9).entries()) {
    await chord(Key.CONTROL, String(i + 1));
    await inView(id);
  }
  // g then a letter: every view (g g is the graph).
  for (const [id, , key] of [...VIEW_KEYS].reverse()) {
    await press('g', key);
    await inView(id);
  }
  // Alt+← and Backspace go back: overview <- entities <- errors (the last three views).
  await press('g', 'e');
  await inView('entities');
  await press('g', 'p');
  await inView('errors');
  await chord(Key.ALT, Key.ARROW_LEFT);
  await inView('entities');
  await press(Key.BACK_SPACE);
  await inView('overview');

  // / and Ctrl+K focus the view's search field; Esc leaves it; Backspace in it edits the text.
  await press('g', 'e');
  await inView('entities');
  await find('entity-row');
  assert.notEqual(await focused(), 'entity-search');
  await press('/');
  await eventually(async () => (await focused()) === 'entity-search', '/ focuses the search');
  await press('zq');
  await eventually(async () => (await (await find('entity-search')).getAttribute('value')) === 'zq', 'typing goes to the field');
  await press(Key.BACK_SPACE, Key.BACK_SPACE);
  await eventually(async () => (await (await find('entity-search')).getAttribute('value')) === '', 'Backspace edits the text');
  await inView('entities');
  await press(Key.ESCAPE);
  await eventually(async () => (await focused()) !== 'entity-search', 'Esc leaves the field');
  await chord(Key.CONTROL, 'k');
  await eventually(async () => (await focused()) === 'entity-search', 'Ctrl+K focuses the search');
  await press(Key.ESCAPE);
  await press('g', 's');
  await inView('scaffolder');
  await press('/');
  await eventually(
    () => driver.executeScript('return document.activeElement?.hasAttribute("data-search") ?? false'),
    '/ focuses the search field of another view',
  );
  await press(Key.ESCAPE);

  // ↓ / ↑ and j / k move in a list (here, each row opens as it is selected); Enter opens.
  await press('g', 'e');
  await inView('entities');
  await find('entity-row');
  await press('/', Key.ARROW_DOWN);
  await eventually(async () => (await focused()) === 'entity-list', '↓ from the search goes to the list');
  await press('j');
  await eventually(async () => (await shownEntity()) === (await entityRowRef(1)), 'j opens the next row');
  await press(Key.ARROW_DOWN);
  await eventually(async () => (await shownEntity()) === (await entityRowRef(2)), '↓ opens the next row');
  await press('k');
  await eventually(async () => (await shownEntity()) === (await entityRowRef(1)), 'k opens the row above');
  await press(Key.ARROW_UP);
  await eventually(async () => (await shownEntity()) === (await entityRowRef(0)), '↑ opens the row above');
  // Esc closes the pane; Enter opens the selected row again.
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="entity-detail"]')) === 0, 'Esc closes the pane');
  await press(Key.ENTER);
  await eventually(async () => (await shownEntity()) === (await entityRowRef(0)), 'Enter opens the selected row');

  // Esc closes a dialog.
  await press('g', 'c');
  await inView('connections');
  await (await find('add-profile')).click();
  await visible('add-profile-dialog');
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="add-profile-dialog"]')) === 0, 'Esc closes the dialog');
});

e2e('Esc closes a dialog after a click on its text took the focus away, and closes only the dialog', async () => {
  driver = await open(['--profile', 'demo']);
  await go('connections');
  await (await find('add-profile')).click();
  const dialog = await visible('add-profile-dialog');
  await (await dialog.findElement(css('.dialog-head h2'))).click();
  assert.equal(await focused(), 'body', 'the click on the title took the focus from the dialog');
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="add-profile-dialog"]')) === 0, 'Esc closes the dialog');

  // Over an entity's pane: Esc closes the shortcuts list, not the pane; the next Esc the pane.
  await go('entities');
  await (await find('entity-row')).click();
  await visible('entity-detail');
  await press('?');
  const overlay = await visible('shortcuts');
  await (await overlay.findElement(css('.dialog-body h3'))).click();
  assert.equal(await focused(), 'body');
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="shortcuts"]')) === 0, 'Esc closes the list');
  assert.equal(await count('[data-testid="entity-detail"]'), 1, 'the pane stays open');
  await press(Key.ESCAPE);
  await eventually(async () => (await count('[data-testid="entity-detail"]')) === 0, 'the next Esc closes the pane');
});

/** Opens Add profile on `tab` and names the profile. */
async function startProfile(name, tab) {
  await go('connections');
  await (await find('add-profile')).click();
  await visible('add-profile-dialog');
  if (tab) await (await find(`tab-${tab}`)).click();
  await (await find('profile-name-input')).sendKeys(name);
}

/** Saves the profile of the Add profile dialog, which then closes. */
async function saveProfile() {
  await (await find('profile-save')).click();
  await eventually(async () => (await count('[data-testid="add-profile-dialog"]')) === 0, 'the dialog closes after saving');
}

/** Tests the selected profile's connection; returns the error box's code, or 'connected'. */
async function testSelected() {
  // The answer of the last test goes away on the click: wait for that before reading the new one.
  const old = await driver.findElements(css('[data-testid="profile-panel"] [data-testid="error"], [data-testid="test-result"]'));
  await (await find('test-connection')).click();
  for (const el of old) await driver.wait(until.stalenessOf(el), WAIT, 'the last answer goes');
  return eventually(async () => {
    if ((await count('[data-testid="profile-panel"] [data-testid="error"]')) > 0) {
      return (await find('error')).getAttribute('data-code');
    }
    return (await count('[data-testid="test-result"]')) > 0 && 'connected';
  }, 'the connection test answers');
}

e2e('Connections: an app-config import with ${VAR}s, a profile with a CA file, a password for this run only', async () => {
  const port = demoPort();
  const password = demoPassword();
  const ca = join(demoDir, 'ca.crt');
  // Backstage's app-config: the server from the environment, the CA from a file beside it.
  const dir = join(work, 'app-config');
  mkdirSync(dir, { recursive: true });
  copyFileSync(ca, join(dir, 'db-ca.pem'));
  const config = join(dir, 'app-config.yaml');
  writeFileSync(
    config,
    [
      'backend:',
      '  database:',
      '    client: pg',
      '    connection:',
      '      host: ${BSI_E2E_DB_HOST}',
      '      port: ${BSI_E2E_DB_PORT}',
      '      user: ${BSI_E2E_DB_USER:-backstage}',
      '      password: ${BSI_E2E_DB_PASSWORD}',
      '      ssl:',
      '        ca:',
      '          $file: db-ca.pem',
      '',
    ].join('\n'),
  );
  driver = await open([], {
    ...TRACED,
    BSI_E2E_DB_HOST: 'localhost',
    BSI_E2E_DB_PORT: String(port),
    BSI_E2E_DB_PASSWORD: password,
  });
  await go('connections');
  assert.match(await (await find('keyring-status')).getText(), /keyring: available/i);

  // 1. Import: what was read and from where, the password masked; saved, it connects.
  await startProfile('from-app-config', 'import');
  await (await find('import-files-input')).sendKeys(config);
  await (await find('profile-save')).click();
  const result = await visible('import-result');
  const read = Object.fromEntries(
    await Promise.all(
      (await result.findElements(css('tr'))).map(async (r) => {
        const [key, value, source] = await Promise.all((await r.findElements(css('th, td'))).map((c) => c.getText()));
        return [key, { value, source }];
      }),
    ),
  );
  const conn = 'backend.database.connection';
  assert.deepEqual(read[`${conn}.host`], { value: 'localhost', source: 'env BSI_E2E_DB_HOST' });
  assert.deepEqual(read[`${conn}.port`], { value: String(port), source: 'env BSI_E2E_DB_PORT' });
  assert.deepEqual(read[`${conn}.user`], { value: 'backstage', source: config });
  assert.deepEqual(read[`${conn}.password`], { value: '••••••••', source: 'env BSI_E2E_DB_PASSWORD' });
  assert.match(read[`${conn}.ssl.ca`]?.source ?? '', /^file .*db-ca\.pem$/);
  assert.ok(!(await bodyText()).includes(password), 'the password is not shown');
  for (const b of await (await find('add-profile-dialog')).findElements(css('.dialog-actions button'))) {
    if ((await b.getText()) === 'Close') await b.click();
  }
  await eventually(async () => (await count('[data-testid="add-profile-dialog"]')) === 0, 'the dialog closes');
  await selectProfile('from-app-config');
  const panel = await (await find('profile-panel')).getText();
  assert.match(panel, /verify-full/);
  assert.match(panel, new RegExp(`localhost:${port}`));
  assert.match(panel, /stored in the OS keyring/);
  assert.equal(keyringSecret('from-app-config'), password, 'the imported password went to the keyring');
  assert.equal(await testSelected(), 'connected');
  assert.match(await (await find('test-result')).getText(), /TLS/);

  // 2. A CA file: verify-full fails without it, connects with it.
  const uri = `postgresql://backstage@localhost:${port}/postgres?sslmode=verify-full`;
  await startProfile('without-ca', 'uri');
  await (await find('profile-url-input')).sendKeys(uri);
  await (await find('profile-password-input')).sendKeys(password);
  await saveProfile();
  await selectProfile('without-ca');
  assert.equal(await testSelected(), 'tls_untrusted');

  await startProfile('with-ca', 'uri');
  await (await find('profile-url-input')).sendKeys(uri);
  await (await find('profile-ca-input')).sendKeys(ca);
  await (await find('profile-password-input')).sendKeys(password);
  await saveProfile();
  await selectProfile('with-ca');
  assert.ok((await (await find('profile-panel')).getText()).includes(`CA file ${ca}`), 'the panel names the CA file');
  assert.equal(await testSelected(), 'connected');
  const stages = await stageOutcomes();
  assert.ok(stages.every((s) => s.outcome === 'passed'), JSON.stringify(stages));
  assert.match(bsi(['profile', 'show', 'with-ca', '--json']), new RegExp(`"root_cert":\\s*"${ca.replace(/\//g, '\\/')}"`));

  // 3. No stored password: the one typed for this run connects and opens, and is not stored.
  await startProfile('run-only', 'uri');
  await (await find('profile-url-input')).sendKeys(uri);
  await (await find('profile-ca-input')).sendKeys(ca);
  await saveProfile();
  await selectProfile('run-only');
  assert.match(await (await find('profile-panel')).getText(), /none stored/);
  assert.notEqual(await testSelected(), 'connected', 'without a password the test fails');
  await (await find('run-password')).sendKeys(password);
  assert.equal(await testSelected(), 'connected');
  await (await find('open-profile')).click();
  await eventually(async () => (await (await find('profile-name')).getText()) === 'run-only', 'the header names run-only');
  await go('overview');
  await find('database-row');
  assert.equal(await count('[data-testid="error"]'), 0, await bodyText());
  await selectProfile('run-only');
  assert.match(await (await find('profile-panel')).getText(), /none stored/);
  assert.equal(keyringSecret('run-only'), null, 'the keyring has no password of run-only');
  assert.equal(keyringItems('run-only'), '', 'secret-tool finds nothing for run-only');
  assert.match(bsi(['profile', 'list']), /run-only/);
});

/**
 * The secret values on the demo server: the task secrets of every scaffolder database (and the
 * tokens inside them), and the token material of every auth database.
 */
function serverSecrets() {
  const found = new Map();
  const add = (where, v) => {
    if (typeof v === 'string' && v.length >= 8) found.set(v, where);
  };
  const dbs = psql(
    'postgres',
    "SELECT datname FROM pg_database WHERE datname LIKE '%scaffolder' OR datname LIKE '%\\_auth' ORDER BY 1",
  ).split('\n');
  for (const db of dbs) {
    if (db.endsWith('scaffolder')) {
      for (const text of psqlJson(db, "SELECT coalesce(json_agg(secrets), '[]') FROM tasks WHERE secrets IS NOT NULL")) {
        let secrets;
        try {
          secrets = JSON.parse(text);
        } catch {
          add(`${db} tasks.secrets`, text);
          continue;
        }
        for (const [k, v] of Object.entries(secrets)) {
          add(`${db} tasks.secrets.${k}`, v);
          try {
            // Backstage keeps the initiator's credentials as JSON text with a token inside.
            const inner = JSON.parse(v);
            if (inner && typeof inner === 'object') add(`${db} tasks.secrets.${k}.token`, inner.token);
          } catch {
            // Not JSON: the value itself is the secret.
          }
        }
      }
    } else {
      for (const [table, column] of [
        ['offline_sessions', 'token_hash'],
        ['offline_sessions', 'id'],
        ['oidc_authorization_codes', 'code'],
        ['oauth_authorization_sessions', 'code_challenge'],
        ['sessions', 'sid'],
      ]) {
        if (psql(db, `SELECT to_regclass(${sqlText(table)}) IS NOT NULL`) !== 't') continue;
        const values = psqlJson(db, `SELECT coalesce(json_agg(DISTINCT ${column}::text), '[]') FROM ${table} WHERE ${column} IS NOT NULL`);
        for (const v of values) add(`${db} ${table}.${column}`, v);
      }
    }
  }
  // A JWT's signature alone is a secret too.
  for (const [v, where] of [...found]) {
    const parts = v.split('.');
    if (v.startsWith('eyJ') && parts.length === 3) add(`${where} (signature)`, parts[2]);
  }
  return found;
}

// Last: it reads what the flows above logged.
// ---- SQL console ----------------------------------------------------------------------------

/** Replaces the console editor's text by typing `text` (completion popups closed with Esc). */
async function typeSql(text) {
  const content = await driver.wait(until.elementLocated(css('.cm-content')), WAIT);
  await content.click();
  await content.sendKeys(Key.chord(Key.CONTROL, 'a'), Key.DELETE);
  await content.sendKeys(text, Key.ESCAPE);
}

e2e('the SQL console completes a table name, runs the query and shows its rows', async () => {
  driver = await open(['--profile', 'demo']);
  await go('console');
  // The database's tables and columns are known to the editor once the list arrives.
  const editorBox = await find('console-editor');
  await eventually(async () => Number(await editorBox.getAttribute('data-tables')) > 0, 'the schema is loaded');
  const content = await driver.wait(until.elementLocated(css('.cm-content')), WAIT);
  await content.click();
  await content.sendKeys(Key.chord(Key.CONTROL, 'a'), Key.DELETE);
  await content.sendKeys('SELECT entity_ref FROM refresh_st');
  // The live schema's tables are offered (Ctrl+Space, the editor's completion key); a click
  // takes one.
  await content.sendKeys(Key.chord(Key.CONTROL, Key.SPACE));
  const option = await driver.wait(
    until.elementLocated(By.xpath("//*[contains(@class,'cm-tooltip-autocomplete')]//li[contains(., 'refresh_state')]")),
    WAIT,
  );
  assert.match(await option.getText(), /refresh_state/);
  await option.click();
  await eventually(async () => (await content.getText()).endsWith('FROM refresh_state'), 'the completion is taken');
  await content.sendKeys(Key.END, ' ORDER BY entity_ref LIMIT 5', Key.ESCAPE);
  assert.match(await content.getText(), /FROM refresh_state ORDER BY entity_ref LIMIT 5/);
  await (await find('console-run')).click();
  await eventually(async () => (await (await find('console-rowcount')).getText()).startsWith('5 row(s)'), 'five rows');
  const want = psql('backstage_plugin_catalog', 'SELECT entity_ref FROM refresh_state ORDER BY entity_ref LIMIT 5').split('\n');
  // The cells' text as the page holds it (the grid's cells are clipped boxes).
  const rowTexts = async () =>
    driver.executeScript(
      "return [...document.querySelectorAll('[data-testid=\"console-row\"]')].map((r) => r.textContent)",
    );
  await eventually(async () => JSON.stringify(await rowTexts()) === JSON.stringify(want), 'the rows psql reads');
  assert.deepEqual(await rowTexts(), want);
  assert.match(await (await find('console-summary')).getText(), /read-only, rolled back/);
  // Sorting the loaded rows: a click on the header sorts descending after ascending.
  const th = await find('console-th');
  await th.click();
  await th.click();
  await eventually(async () => (await rowTexts())[0] === want[4], 'sorted descending');
  // The run is in the history, without its rows.
  await (await find('tab-history')).click();
  const item = await find('console-history-item');
  assert.match(await item.getText(), /LIMIT 5/);
  await shot('console');
});

e2e('a slow console query is cancelled on the server', async () => {
  driver = await open(['--profile', 'demo']);
  await go('console');
  await typeSql("SELECT pg_sleep(60), 'console-e2e-sleep'");
  await (await find('console-run')).click();
  const running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%console-e2e-sleep%' AND pid <> pg_backend_pid()";
  await eventually(async () => psql('postgres', running) === '1', 'the query runs on the server');
  await (await find('cancel-op')).click();
  const err = await find('error');
  assert.equal(await err.getAttribute('data-code'), 'cancelled');
  await eventually(async () => psql('postgres', running) === '0', 'no query is left on the server', 10000);
});

e2e('EXPLAIN shows the plan as a tree with the slowest node marked', async () => {
  driver = await open(['--profile', 'demo']);
  await go('console');
  await typeSql("SELECT r.type, count(*) FROM relations r JOIN refresh_state s ON s.entity_ref = r.source_entity_ref GROUP BY r.type");
  await (await find('console-analyze')).click();
  await (await find('console-explain')).click();
  await find('console-plan');
  const nodes = await driver.findElements(tid('plan-node'));
  assert.ok(nodes.length >= 3, `${nodes.length} nodes`);
  assert.equal(await count('[data-testid="plan-node"][data-slowest="true"]'), 1);
  const texts = (await Promise.all(nodes.map((n) => n.getText()))).join('\n');
  assert.match(texts, /on relations r/);
  assert.match(texts, /actual [\d.]+ ms/);
  await shot('console-plan');
});

e2e('the SQL console masks task secrets in the grid, the row detail and every copy', async () => {
  driver = await open(['--profile', 'demo']);
  await go('console');
  const scaffolder = await driver.wait(
    until.elementLocated(css('[data-testid="console-target"] option[value="area:scaffolder"]')),
    WAIT,
  );
  await scaffolder.click();
  await eventually(async () => (await (await find('console-target')).getAttribute('value')) === 'area:scaffolder', 'the scaffolder chosen');
  const editorBox = await find('console-editor');
  await eventually(async () => Number(await editorBox.getAttribute('data-tables')) > 0, 'the schema is loaded');
  await typeSql('SELECT id, secrets AS s, secrets::jsonb AS j FROM tasks WHERE secrets IS NOT NULL');
  await (await find('console-run')).click();
  await eventually(async () => /^[1-9]\d* row\(s\)/.test(await (await find('console-rowcount')).getText()), 'the task rows');
  const heads = await driver.executeScript(
    "return [...document.querySelectorAll('[data-testid=\"console-th\"]')].map((h) => h.textContent)",
  );
  assert.ok(heads[1].includes('🔒') && heads[2].includes('🔒'), heads.join(' | '));
  await (await driver.findElements(tid('console-row')))[0].click();
  await find('console-row-detail');
  for (const f of ['csv', 'tsv', 'json', 'markdown']) {
    await (await find(`console-copy-${f}`)).click();
    await eventually(async () => (await (await find('console-copied')).getText()).includes(f.toUpperCase()) ||
      (await (await find('console-copied')).getText()).includes('clipboard'), `copied as ${f}`);
  }
  // No value of any stored secret is on the page (the copies are built from the same rows).
  const raw = psql('backstage_plugin_scaffolder', "SELECT string_agg(value, E'\\n') FROM tasks, jsonb_each_text(secrets::jsonb) WHERE secrets IS NOT NULL");
  const values = raw.split('\n').filter((v) => v.length > 8);
  assert.ok(values.length > 0, 'the demo stores secrets');
  const page = await driver.getPageSource();
  for (const v of values) assert.ok(!page.includes(v), `a secret is on the page: ${v.slice(0, 4)}…`);
});

e2e('the log file of the flows above, at trace level, holds no password, token or task secret', async () => {
  assert.ok(existsSync(TRACE_LOG), `the traced flows wrote ${TRACE_LOG}`);
  const older = `${TRACE_LOG}.1`;
  const log = (existsSync(older) ? readFileSync(older, 'utf8') : '') + readFileSync(TRACE_LOG, 'utf8');
  if (shots) {
    mkdirSync(shots, { recursive: true });
    writeFileSync(join(shots, 'trace-flows.log'), log);
  }
  assert.match(log, / TRACE /, 'the log is at trace level');
  // The flows ran with this log: write mode and the unlock, the cancel, the task and entity
  // reads, the import, the connection tests, and the profile with a password for this run.
  for (const command of ['set_write_mode', 'knex_unlock', 'cancel', 'task', 'entity', 'import_app_config', 'test_connection']) {
    assert.match(log, new RegExp(`\\b${command}\\{`), `the log has the command ${command}`);
  }
  assert.match(log, /user: "run-only"/, 'the log has the keyring lookup of the profile run-only');
  const secrets = serverSecrets();
  secrets.set(demoPassword(), 'the demo password (also imported and typed for this run)');
  assert.ok(secrets.size > 10, `secrets to look for: ${secrets.size}`);
  assert.ok([...secrets.values()].some((w) => w.includes('bscurrent_scaffolder tasks.secrets')), 'the fixtures\' task secrets');
  // Also as the list of bytes that a D-Bus message's debug output shows.
  for (const [v, where] of [...secrets]) secrets.set([...Buffer.from(v)].join(', '), `${where} (as bytes)`);
  const leaked = [...secrets].filter(([v]) => log.includes(v)).map(([v, where]) => `${where}: ${v.slice(0, 4)}… at line ${
    log.slice(0, log.indexOf(v)).split('\n').length
  }`);
  assert.deepEqual(leaked, [], `secrets in ${TRACE_LOG}`);
});
