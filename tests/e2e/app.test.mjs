// The real app window, driven through WebDriver. tests/e2e/run prepares the demo database and
// a `demo` profile, starts Xvfb and tauri-driver, and runs these tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Builder, By, until } from 'selenium-webdriver';

const application = process.env.BSI_APP;
const shots = process.env.BSI_SCREENSHOTS;
let driver;

async function open(args) {
  return new Builder()
    .usingServer('http://127.0.0.1:4444/')
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application, args } })
    .build();
}

// The X screen, not WebDriver's screenshot: that one can lag behind the page on a busy machine.
async function shot(name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await sleep(500);
  execFileSync('import', ['-window', 'root', `${shots}/${name}.png`]);
}

before(async () => {
  assert.ok(application, 'BSI_APP must point at the app binary');
});

after(async () => {
  if (driver) await driver.quit();
});

test('the window says which profile is connected and lists its databases', async () => {
  driver = await open(['--profile', 'demo']);
  const name = await driver.wait(until.elementLocated(By.css('[data-testid="profile-name"]')), 30000);
  assert.equal(await name.getText(), 'demo');
  const badge = await driver.findElement(By.css('[data-testid="mode-badge"]'));
  assert.match(await badge.getText(), /read-only/i);
  await driver.wait(until.elementLocated(By.css('[data-testid="database-row"]')), 30000);
  const rows = await driver.findElements(By.css('[data-testid="database-row"]'));
  const texts = await Promise.all(rows.map((r) => r.getText()));
  assert.ok(texts.some((t) => t.includes('backstage_plugin_catalog') && t.includes('catalog')), texts.join('\n'));
  assert.ok(texts.some((t) => t.includes('backstage_plugin_scaffolder')), texts.join('\n'));
  const version = await driver.findElement(By.css('[data-testid="server-version"]')).getText();
  assert.match(version, /^\d+/);
  await shot('overview');
  await driver.quit();
  driver = undefined;
});

test('an unknown profile shows a clear error in the window', async () => {
  driver = await open(['--profile', 'no-such-profile']);
  const err = await driver.wait(until.elementLocated(By.css('[data-testid="error"]')), 30000);
  const text = await err.getText();
  assert.match(text, /not_found/);
  assert.match(text, /no-such-profile/);
  await driver.quit();
  driver = undefined;
});
