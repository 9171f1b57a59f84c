/**
 * Retention (`bundle forget --keep-*`) against restic's policy, computed here independently: a seeded history
 * of 200 bundles over 400 days, several flag combinations through the binary; labelled bundles kept; --dry-run
 * writes nothing; bad input is one line, exit 2, nothing changed.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, rng, storeDigest, summaryOf, tempDir } from './helpers.js';
import { seedHistory } from './lifecycle-helpers.js';

const t = suite('retention: bundle forget --keep-*');

const DAY = 86_400_000;
const END = Date.UTC(2026, 5, 30, 18, 30); // in the past: the newest bundle is the policy's reference

/** 170 times spread over 400 days, 30 in the last two days (several within one hour); distinct, sorted. */
function historyTimes(): number[] {
  const next = rng(15);
  const times = new Set<number>();
  while (times.size < 170) times.add(END - Math.floor(next() * 400 * DAY));
  while (times.size < 200) times.add(END - Math.floor(next() * 2 * DAY * (next() < 0.5 ? 0.05 : 1)));
  times.add(END);
  return [...times].sort((a, b) => a - b).slice(-200);
}

interface Rules { last?: number; hourly?: number; daily?: number; weekly?: number; monthly?: number; yearly?: number; within?: [number, number, number, number] }

/** ISO week key without the Thursday trick: the Monday of week 1 is the Monday on or before 4 January. */
function isoWeekKey(ms: number): string {
  const day = Math.floor(ms / DAY) * DAY;
  const week1Monday = (year: number) => {
    const jan4 = Date.UTC(year, 0, 4);
    return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
  };
  const y = new Date(day).getUTCFullYear();
  const year = [y + 1, y, y - 1].find((c) => week1Monday(c) <= day)!;
  return `${year}-W${String(Math.floor((day - week1Monday(year)) / (7 * DAY)) + 1).padStart(2, '0')}`;
}

/**
 * restic's policy, written from its documentation rather than from the code under test: for each rule, the
 * newest bundle of each of the newest n distinct periods (-1: all), plus the oldest bundle while the rule has
 * periods to spare; `within` keeps bundles newer than the newest minus the calendar duration; labels keep too.
 */
function expectedKept(items: { id: string; t: number }[], labelled: Set<string>, rules: Rules): Set<string> {
  const list = [...items].sort((a, b) => b.t - a.t);
  const keep = new Set(list.filter((b) => labelled.has(b.id)).map((b) => b.id));
  const iso = (ms: number) => new Date(ms).toISOString();
  const key: Record<string, (ms: number, i: number) => string> = {
    last: (_ms, i) => String(i), hourly: (ms) => iso(ms).slice(0, 13), daily: (ms) => iso(ms).slice(0, 10),
    weekly: isoWeekKey, monthly: (ms) => iso(ms).slice(0, 7), yearly: (ms) => iso(ms).slice(0, 4),
  };
  for (const rule of Object.keys(key)) {
    const n = rules[rule as keyof Rules] as number | undefined;
    if (!n) continue;
    const seen: string[] = [];
    list.forEach((b, i) => {
      const k = key[rule]!(b.t, i);
      if (seen.includes(k)) return;
      seen.push(k);
      if (n === -1 || seen.length <= n) keep.add(b.id);
    });
    if (n === -1 || seen.length < n) keep.add(list.at(-1)!.id);
  }
  if (rules.within) {
    const [y, m, d, h] = rules.within;
    const latest = new Date(list[0]!.t);
    const cutoff = new Date(latest);
    cutoff.setUTCFullYear(latest.getUTCFullYear() - y, latest.getUTCMonth() - m, latest.getUTCDate() - d);
    for (const b of list) if (b.t > cutoff.getTime() - h * 3_600_000) keep.add(b.id);
  }
  return keep;
}

function flags(rules: Rules): string[] {
  const out: string[] = [];
  for (const [rule, n] of Object.entries(rules)) {
    if (rule === 'within') {
      const [y, m, d, h] = n as number[];
      out.push('--keep-within', `${y ? `${y}y` : ''}${m ? `${m}m` : ''}${d ? `${d}d` : ''}${h ? `${h}h` : ''}`);
    } else out.push(`--keep-${rule}`, String(n));
  }
  return out;
}

const CASES: Rules[] = [
  { last: 5 },
  { daily: 7, weekly: 4, monthly: 6 },
  { hourly: 10, yearly: -1 },
  { within: [0, 1, 15, 0], monthly: 3 },
  { weekly: 100 },
  { within: [0, 0, 3, 12], last: 3, daily: 30 },
  { hourly: 24, daily: 14, weekly: 8, monthly: 12, yearly: 3 },
  { monthly: -1, within: [0, 0, 0, 6] },
];

let seeded: Promise<{ store: string; items: { id: string; t: number }[]; labels: Map<string, string> }> | undefined;

/** One seeded store for the dry runs (they change nothing, which the first test checks). */
function history() {
  seeded ??= (async () => {
    const store = path.join(tempDir('retention'), 'store');
    const times = historyTimes();
    const ids = await seedHistory(store, 'r', times);
    const items = ids.map((id, i) => ({ id, t: times[i]! }));
    const labels = new Map([[ids[3]!, 'audit-2025'], [ids[77]!, 'baseline'], [ids[150]!, 'golden']]);
    for (const [id, name] of labels) assert.is(cli(['--store', store, 'label', 'set', name, '--repo', 'r', '--bundle', id]).code, 0);
    return { store, items, labels };
  })();
  return seeded;
}

t('the seeded history has 200 bundles over 400 days', async () => {
  const { items } = await history();
  assert.is(items.length, 200);
  assert.ok(items.at(-1)!.t - items[0]!.t > 390 * DAY);
});

t('--dry-run keeps exactly what restic keeps, labelled bundles too, and writes nothing', async () => {
  const { store, items, labels } = await history();
  const before = storeDigest(store);
  for (const rules of CASES) {
    const r = cli(['--store', store, '--json', 'bundle', 'forget', '--repo', 'r', '--dry-run', ...flags(rules)]);
    assert.is(r.code, 0, `${flags(rules).join(' ')}: ${r.stderr}`);
    const s = summaryOf(r.stdout);
    const kept = new Set<string>(s.kept.map((k: { bundle: string }) => k.bundle));
    const gone = new Set<string>(s.forgotten.map((f: { bundle: string }) => f.bundle));
    const expected = expectedKept(items, new Set(labels.keys()), rules);
    assert.equal([...kept].sort(), [...expected].sort(), flags(rules).join(' '));
    assert.equal([...gone].sort(), items.map((b) => b.id).filter((id) => !expected.has(id)).sort(), flags(rules).join(' '));
    for (const [id, name] of labels) {
      const k = s.kept.find((x: { bundle: string }) => x.bundle === id);
      assert.ok(k.reasons.includes(`label ${name}`), JSON.stringify(k));
    }
    assert.ok(s.kept.every((k: { reasons: string[] }) => k.reasons.length > 0));
    assert.ok(s.dryRun);
  }
  const text = cli(['--store', store, 'bundle', 'forget', '--repo', 'r', '--dry-run', '--keep-daily', '3']);
  assert.match(text.stdout, /^keep\t[0-9A-Z]{26}\t[^\t]+\tdaily$/m);
  assert.match(text.stdout, /^would forget\t[0-9A-Z]{26}\t/m);
  assert.equal(storeDigest(store), before);
});

t('a real run forgets exactly the bundles the dry run named; the store stays fsck-clean', async () => {
  const store = path.join(tempDir('retention-run'), 'store');
  const times = historyTimes();
  const ids = await seedHistory(store, 'r', times);
  assert.is(cli(['--store', store, 'label', 'set', 'pinned', '--repo', 'r', '--bundle', ids[10]!]).code, 0);
  const rules: Rules = { daily: 7, weekly: 4, monthly: 6 };
  const expected = expectedKept(ids.map((id, i) => ({ id, t: times[i]! })), new Set([ids[10]!]), rules);
  const r = cli(['--store', store, '--json', 'bundle', 'forget', '--repo', 'r', ...flags(rules)]);
  assert.is(r.code, 0, r.stderr);
  const left = summaryOf(cli(['--store', store, '--json', 'bundle', 'list', '--repo', 'r']).stdout).bundles.map((b: { id: string }) => b.id);
  assert.equal(left.sort(), [...expected].sort());
  const fsck = cli(['--store', store, 'fsck']);
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  const log = cli(['--store', store, '--json', 'log', '--repo', 'r']);
  const forgets = log.stdout.split('\n').filter((l) => l.includes('"bundle.forget"')).map((l) => JSON.parse(l).record);
  assert.is(forgets.filter((f) => f.reason === 'keep 7 daily, 4 weekly, 6 monthly').length, 200 - expected.size);
  assert.is(forgets[0].contributor.email, 'test@example.com');
});

t('bad policies: one line naming the flag, exit 2, nothing changed', async () => {
  const { store, items } = await history();
  const before = storeDigest(store);
  const bad: [string[], RegExp][] = [
    [['--keep-daily', '-2'], /--keep-daily "-2": negative/],
    [['--keep-last', '3.5'], /--keep-last "3.5": expected an integer/],
    [['--keep-weekly', 'many'], /--keep-weekly "many": expected an integer/],
    [['--keep-within', '-1d'], /--keep-within "-1d": negative/],
    [['--keep-within', '3w'], /--keep-within "3w": expected y, m, d or h/],
    [[items[0]!.id, '--keep-last', '2'], /--keep-last "2": cannot be combined with bundles named/],
    [[], /no retention rule given/],
    [['--keep-last', '0'], /no retention rule given/],
  ];
  for (const [args, message] of bad) {
    const r = cli(['--store', store, 'bundle', 'forget', '--repo', 'r', ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.equal(storeDigest(store), before);
});

t.run();
