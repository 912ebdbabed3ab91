// One start of a window, measured as a user meets it (see scripts/measure-app). Prints one
// JSON object:
//
// - launch: when the window's process started (from /proc, to the 10 ms of the kernel's clock);
// - first paint: WebKit's own first-contentful-paint entry (Paint Timing), on the same clock;
// - data: when the first database row of the Overview is in the page (polled every 20 ms);
// - memory: RSS and PSS of the window's process and every process below it (WebKit's web and
//   network processes), after the entity list was scrolled end to end (the app) or after the
//   page settled (the bare window), once at 3 s and once at rest, 10 s on
//   (BSI_MEASURE_REST, in ms): WebKit's garbage collector and allocator give memory back
//   over seconds; and the same 3 s after the first paint and data.
//
// Environment: BSI_APP (the binary), BSI_MEASURE_KIND (`app` or `bare`), BSI_MEASURE_PROFILE
// (the app's profile), BSI_MEASURE_ARGS (the bare window's arguments), BSI_DRIVER_PORT (tauri-driver's port).
import { readFileSync, readdirSync } from 'node:fs';
import { Builder, By } from 'selenium-webdriver';

const application = process.env.BSI_APP;
const kind = process.env.BSI_MEASURE_KIND ?? 'app';
const profile = process.env.BSI_MEASURE_PROFILE;
const WAIT = Number(process.env.BSI_MEASURE_WAIT ?? 120000);
const REST = Number(process.env.BSI_MEASURE_REST ?? 10000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const kib = (file, field) => {
  try {
    const m = readFileSync(file, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // Gone meanwhile.
  }
};

function stat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** When a process started, in ms since the epoch: its start in clock ticks since boot. */
function startedAt(pid) {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const boot = Date.now() - uptime * 1000;
  return boot + Number(stat(pid)[19]) * 10;
}

/** The window's process and every process below it. */
function tree(root) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(stat(d)[1]);
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

/** The newest process running `application`. */
function windowPid() {
  let best;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')[0] !== application) continue;
      const start = Number(stat(d)[19]);
      if (!best || start > best.start) best = { pid: Number(d), start };
    } catch {
      // Not ours.
    }
  }
  return best?.pid;
}

const mib = (k) => Math.round(k / 102.4) / 10;
function memory(pid) {
  const procs = tree(pid);
  return {
    processes: procs.length,
    rss_mib: mib(procs.reduce((a, p) => a + kib(`/proc/${p}/status`, 'VmRSS'), 0)),
    pss_mib: mib(procs.reduce((a, p) => a + kib(`/proc/${p}/smaps_rollup`, 'Pss'), 0)),
    by_process: procs.map((p) => {
      let name = '?';
      try {
        name = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        // Gone meanwhile.
      }
      return { name, rss_mib: mib(kib(`/proc/${p}/status`, 'VmRSS')), pss_mib: mib(kib(`/proc/${p}/smaps_rollup`, 'Pss')) };
    }),
  };
}

async function until(what, f) {
  const end = Date.now() + WAIT;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const requested = Date.now();
const driver = await new Builder()
  .usingServer(`http://127.0.0.1:${process.env.BSI_DRIVER_PORT ?? 4444}/`)
  .withCapabilities({
    browserName: 'wry',
    'tauri:options': { application, args: kind === 'app' ? ['--profile', profile] : (process.env.BSI_MEASURE_ARGS || '').split(' ').filter(Boolean) },
  })
  .build();
try {
  const pid = windowPid();
  if (!pid) throw new Error(`no process runs ${application}`);
  let launch = startedAt(pid);
  // The kernel's clock and ours agree to ~10 ms; a start before the request is impossible.
  if (launch < requested - 50) launch = requested;
  const data =
    kind === 'app'
      ? await until('the first database row', () =>
          driver.executeScript('return document.querySelector(\'[data-testid="database-row"]\') ? Date.now() : 0'),
        )
      : null;
  const paint = await until('the first contentful paint', () =>
    driver.executeScript(
      "const e = performance.getEntriesByName('first-contentful-paint')[0]; return e ? performance.timeOrigin + e.startTime : 0",
    ),
  );
  let scrolled = null;
  await sleep(3000);
  const settled = memory(pid);
  if (kind === 'app') {
    await (await driver.findElement(By.css('[data-testid="nav-entities"]'))).click();
    await until('the entity list', () =>
      driver.executeScript('return document.querySelector(\'[data-testid="entity-row"]\') ? 1 : 0'),
    );
    // End to end: to the bottom, again and again, until every entity the list counts was
    // reached (its head reads "N matching · M loaded"), or nothing more came for 10 s.
    const t = Date.now();
    const step = () =>
      driver.executeScript(
        `const l = document.querySelector('[data-testid="entity-list"]');
         l.scrollTop = l.scrollHeight;
         const head = document.querySelector('[data-testid="entity-total"]')?.textContent ?? '';
         const n = (re) => Number((head.match(re)?.[1] ?? '').replace(/\\D/g, '')) || 0;
         return [n(/^(.*?) matching/), n(/· (.*?) loaded/)];`,
      );
    let total = 0;
    let rows = 0;
    let since = Date.now();
    while (Date.now() - since < 10000) {
      const [all, loaded] = await step();
      total = all;
      if (loaded !== rows) {
        rows = loaded;
        since = Date.now();
      }
      if (total > 0 && rows >= total) break;
      await sleep(20);
    }
    scrolled = { rows, total, seconds: Math.round((Date.now() - t) / 100) / 10 };
    // Back to the top, as a user would, then let it settle.
    await driver.executeScript('document.querySelector(\'[data-testid="entity-list"]\').scrollTop = 0;');
  }
  await sleep(3000);
  const used = memory(pid);
  await sleep(Math.max(0, REST - 3000));
  console.log(
    JSON.stringify({
      kind,
      launch_to_first_paint_ms: Math.round(paint - launch),
      launch_to_data_ms: data == null ? null : Math.round(data - launch),
      scrolled,
      memory_settled: settled,
      memory_3s: used,
      memory: memory(pid),
    }),
  );
} finally {
  await driver.quit();
}
