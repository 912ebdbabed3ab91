// Small formatting helpers shared by the views.

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Human-readable size in binary units, e.g. 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number | bigint | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  let value = Number(bytes);
  if (!Number.isFinite(value) || value < 0) return '—';
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${SIZE_UNITS[unit]}`;
}

const NUMBER = new Intl.NumberFormat('en-US');

/** 12345 -> "12,345"; null -> "—". */
export function formatCount(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return NUMBER.format(Number(n));
}

/** A duration in milliseconds, e.g. "850 ms", "12.4 s", "3 min 05 s", "2 h 10 min". */
/** A task's timing: its duration once finished; while open or processing, how long it has
 * waited or run, or for how long a processing task has had no heartbeat. */
export function taskTiming(t: {
  duration_ms: number | bigint | null;
  age_secs?: number | bigint | undefined;
  heartbeat_age_secs?: number | bigint | undefined;
  heartbeat_stale: boolean;
  status: string;
}): string {
  const ms = (s: number | bigint) => Number(s) * 1000;
  if (t.heartbeat_stale) {
    return t.heartbeat_age_secs === undefined
      ? 'no heartbeat'
      : `no heartbeat for ${formatDuration(ms(t.heartbeat_age_secs))}`;
  }
  if (t.age_secs !== undefined) {
    return `${t.status === 'open' ? 'waiting' : 'running'} ${formatDuration(ms(t.age_secs))}`;
  }
  return formatDuration(t.duration_ms);
}

export function formatDuration(ms: number | bigint | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const v = Number(ms);
  if (!Number.isFinite(v)) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const s = Math.round(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.round(m / 60 / 24)} d`;
}

/** Seconds as an age: "45 s", "3 min", "5 h", "12 d". */
export function formatAge(seconds: number | bigint | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const s = Number(seconds);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** An ISO time as "2026-11-30 01:24:10" (local), with the age when recent. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

/** "3 min ago" for an ISO time. */
export function timeAgo(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = (Date.now() - t) / 1000;
  return s >= 0 ? `${formatAge(s)} ago` : `in ${formatAge(-s)}`;
}

/** Splits `kind:namespace/name` into its parts (lower-case kind as stored). */
export function splitRef(ref: string): { kind: string; namespace: string; name: string } {
  const colon = ref.indexOf(':');
  const kind = colon >= 0 ? ref.slice(0, colon) : '';
  const rest = colon >= 0 ? ref.slice(colon + 1) : ref;
  const slash = rest.indexOf('/');
  return slash >= 0
    ? { kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) }
    : { kind, namespace: 'default', name: rest };
}

/** A ref without its kind and default namespace, for narrow columns: `template:default/x` -> `x`. */
export function shortRef(ref: string): string {
  const { namespace, name } = splitRef(ref);
  return namespace === 'default' ? name : `${namespace}/${name}`;
}
