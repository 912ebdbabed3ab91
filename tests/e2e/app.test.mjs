// The real app window, driven through WebDriver. tests/e2e/run prepares the demo database and
// a `demo` profile, starts Xvfb and tauri-driver, and runs these tests. Each test asserts what
// the page shows; screenshots of the main views go to BSI_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Builder, By, Key, until } from 'selenium-webdriver';

const application = process.env.BSI_APP;
const shots = process.env.BSI_SCREENSHOTS;
const WAIT = 30000;
let driver;

async function open(args = []) {
  return new Builder()
    .usingServer(`http://127.0.0.1:${process.env.BSI_DRIVER_PORT ?? 4444}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application, args } })
    .build();
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

/** Opens the demo profile and switches this run to the installation with `prefix`. */
async function useInstallation(prefix) {
  driver = await open(['--profile', 'demo']);
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

e2e('every other view shows the demo data without an error', async () => {
  driver = await open(['--profile', 'demo']);
  const noError = async (view) => {
    assert.equal(await count('[data-testid="error"]'), 0, `${view} shows an error: ${await bodyText()}`);
  };
  await go('errors');
  await find('error-row');
  await noError('processing errors');
  await go('orphans');
  await find('orphan-row');
  await noError('orphans');
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
  await shot('tables');
  await go('knex');
  await eventually(async () => (await count('[data-testid="knex-table"], [data-testid="empty"]')) > 0, 'knex state');
  await noError('knex');
  await go('migrations');
  await find('migration-row');
  await noError('migrations');
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

// ---- SQL console ----------------------------------------------------------------------------

/** Rows of `sql` on the demo database `db`, as the cluster's superuser over its socket. */
function demoPsql(db, sql) {
  const dir = process.env.BSI_DEMO_DIR;
  const conf = execFileSync('cat', [`${dir}/data/postgresql.auto.conf`], { encoding: 'utf8' });
  const port = [...conf.matchAll(/^port = (\d+)/gm)].pop()[1];
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const argv = [...asOwner, 'psql', '-h', dir, '-p', port, '-U', 'postgres', '-d', db, '-XAtq', '-c', sql];
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim();
}

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
  const want = demoPsql('backstage_plugin_catalog', 'SELECT entity_ref FROM refresh_state ORDER BY entity_ref LIMIT 5').split('\n');
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
  await eventually(async () => demoPsql('postgres', running) === '1', 'the query runs on the server');
  await (await find('cancel-op')).click();
  const err = await find('error');
  assert.equal(await err.getAttribute('data-code'), 'cancelled');
  await eventually(async () => demoPsql('postgres', running) === '0', 'no query is left on the server', 10000);
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
