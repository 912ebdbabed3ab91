import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  formatAge,
  formatBytes,
  formatCount,
  formatDuration,
  formatTime,
  shortRef,
  splitRef,
  taskTiming,
  timeAgo,
} from './format';

describe('sizes, counts, durations and ages', () => {
  test('sizes in binary units with sensible digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(10 * 1024 * 1024 + 512 * 1024)).toBe('10.5 MiB');
    expect(formatBytes(300n * 1024n * 1024n * 1024n)).toBe('300 GiB');
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  test('counts with thousands separators', () => {
    expect(formatCount(12345)).toBe('12,345');
    expect(formatCount(20063n)).toBe('20,063');
    expect(formatCount(undefined)).toBe('—');
  });

  test('durations from milliseconds to days', () => {
    expect(formatDuration(19)).toBe('19 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(12_400)).toBe('12.4 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(2 * 3600_000 + 10 * 60_000)).toBe('2 h 10 min');
    expect(formatDuration(4 * 86400_000)).toBe('4 d');
    expect(formatDuration(null)).toBe('—');
  });

  test('ages', () => {
    expect(formatAge(45)).toBe('45 s');
    expect(formatAge(180)).toBe('3 min');
    expect(formatAge(5 * 3600)).toBe('5 h');
    expect(formatAge(12 * 86400)).toBe('12 d');
  });
});

describe('entity refs', () => {
  test('split into kind, namespace and name', () => {
    expect(splitRef('component:default/payments')).toEqual({ kind: 'component', namespace: 'default', name: 'payments' });
    expect(splitRef('group:team-a/platform')).toEqual({ kind: 'group', namespace: 'team-a', name: 'platform' });
    expect(splitRef('payments')).toEqual({ kind: '', namespace: 'default', name: 'payments' });
    // A name may contain a slash after the namespace's.
    expect(splitRef('location:default/url:https://x/y')).toEqual({
      kind: 'location',
      namespace: 'default',
      name: 'url:https://x/y',
    });
  });

  test('short refs drop the kind and the default namespace', () => {
    expect(shortRef('template:default/new-service')).toBe('new-service');
    expect(shortRef('group:team-a/platform')).toBe('team-a/platform');
  });
});

describe('times', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('an ISO time in local time, to the second', () => {
    const d = new Date(2026, 10, 3, 4, 5, 6);
    expect(formatTime(d.toISOString())).toBe('2026-11-03 04:05:06');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('')).toBe('—');
    // What cannot be read is shown as it is.
    expect(formatTime('yesterday')).toBe('yesterday');
  });

  test('ages relative to now, past and future', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-10T12:00:00Z'));
    expect(timeAgo('2026-01-10T11:57:00Z')).toBe('3 min ago');
    expect(timeAgo('2026-01-10T12:00:30Z')).toBe('in 30 s');
    expect(timeAgo('2026-01-05T12:00:00Z')).toBe('5 d ago');
    expect(timeAgo(undefined)).toBe('—');
    expect(timeAgo('not a time')).toBe('not a time');
  });

  test('age boundaries', () => {
    expect(formatAge(59)).toBe('59 s');
    expect(formatAge(60)).toBe('1 min');
    expect(formatAge(3600)).toBe('1 h');
    expect(formatAge(86400 * 2 - 1)).toBe('48 h');
    expect(formatAge(86400 * 2)).toBe('2 d');
    expect(formatAge(null)).toBe('—');
  });

  test('duration boundaries', () => {
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1.00 s');
    expect(formatDuration(59_999)).toBe('60.0 s');
    expect(formatDuration(60_000)).toBe('1 min 00 s');
    expect(formatDuration(48 * 3600_000)).toBe('2 d');
    expect(formatDuration(120n)).toBe('120 ms');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('task timing', () => {
  const base = { duration_ms: null, heartbeat_stale: false, status: 'completed' };

  test('a finished task shows its duration', () => {
    expect(taskTiming({ ...base, duration_ms: 185_000 })).toBe('3 min 05 s');
    expect(taskTiming(base)).toBe('—');
  });

  test('an open task how long it has waited, a processing one how long it has run', () => {
    expect(taskTiming({ ...base, status: 'open', age_secs: 90 })).toBe('waiting 1 min 30 s');
    expect(taskTiming({ ...base, status: 'processing', age_secs: 7200n })).toBe('running 2 h 00 min');
  });

  test('a processing task without heartbeat says for how long', () => {
    expect(taskTiming({ ...base, status: 'processing', heartbeat_stale: true, age_secs: 9, heartbeat_age_secs: 4 * 86400 })).toBe(
      'no heartbeat for 4 d',
    );
    expect(taskTiming({ ...base, status: 'processing', heartbeat_stale: true })).toBe('no heartbeat');
  });
});
