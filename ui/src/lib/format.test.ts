import { describe, expect, test } from 'vitest';
import { formatAge, formatBytes, formatCount, formatDuration, shortRef, splitRef } from './format';

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
