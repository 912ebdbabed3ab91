// Measures the app as a user meets it (see scripts/measure-app): cold start to the first data
// on screen, the first page of the entity list, and the memory of the app's processes with the
// catalog open. Prints one JSON object.
import { readFileSync, readdirSync } from 'node:fs';
import { Builder, By, until } from 'selenium-webdriver';

const application = process.env.BSI_APP;
const profile = process.env.BSI_MEASURE_PROFILE;
const WAIT = Number(process.env.BSI_MEASURE_WAIT ?? 120000);
const tid = (id) => By.css(`[data-testid="${id}"]`);

/** Proportional set size (kB) of a process, from /proc/PID/smaps_rollup. */
function pss(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function rss(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The app's process and every process below it (WebKit's web and network processes). */
function tree(root) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [];
  const walk = (p) => {
    out.push(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(root);
  return out;
}

function appPid() {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const exe = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0];
      if (exe === application) return Number(d);
    } catch {
      // Not ours.
    }
  }
  return undefined;
}

const memory = () => {
  const pid = appPid();
  const procs = pid ? tree(pid) : [];
  return {
    processes: procs.length,
    pss_mib: Math.round(procs.reduce((a, p) => a + pss(p), 0) / 102.4) / 10,
    rss_mib: Math.round(procs.reduce((a, p) => a + rss(p), 0) / 102.4) / 10,
    app_rss_mib: pid ? Math.round(rss(pid) / 102.4) / 10 : null,
  };
};

const t0 = performance.now();
const driver = await new Builder()
  .usingServer(`http://127.0.0.1:${process.env.BSI_DRIVER_PORT ?? 4444}/`)
  .withCapabilities({
    browserName: 'wry',
    'tauri:options': { application, args: ['--profile', profile] },
  })
  .build();
try {
  await driver.wait(until.elementLocated(tid('database-row')), WAIT);
  const firstData = performance.now() - t0;
  const t1 = performance.now();
  await (await driver.findElement(tid('nav-entities'))).click();
  await driver.wait(until.elementLocated(tid('entity-row')), WAIT);
  const entities = performance.now() - t1;
  const total = await (await driver.findElement(tid('entity-total'))).getText();
  // Scroll the list a few pages down, as someone browsing would, then let it settle.
  for (let i = 0; i < 10; i++) {
    await driver.executeScript(
      'const l = document.querySelector(\'[data-testid="entity-list"]\'); if (l) l.scrollTop += 4000;',
    );
    await new Promise((r) => setTimeout(r, 300));
  }
  await new Promise((r) => setTimeout(r, 2000));
  console.log(
    JSON.stringify({
      cold_start_to_first_data_ms: Math.round(firstData),
      entity_list_first_page_ms: Math.round(entities),
      entity_total_shown: total,
      memory_with_catalog_open: memory(),
    }),
  );
} catch (e) {
  const { writeFileSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  writeFileSync('/tmp/bsi-measure-failed.html', await driver.getPageSource());
  execFileSync('import', ['-window', 'root', '/tmp/bsi-measure-failed.png']);
  throw e;
} finally {
  await driver.quit();
}
