/**
 * Retention policies: which bundles of a repo `bundle forget --keep-*` keeps. The semantics are restic's
 * `forget` policy (internal/data/snapshot_policy.go, ApplyPolicy), re-derived here:
 * - bundles are taken newest first (by their time: `rewrittenFrom.created` for a rewritten bundle, else
 *   `created`; ties by id, newest first);
 * - each counted rule (last, hourly, daily, weekly, monthly, yearly) buckets a bundle by its time — in UTC,
 *   where restic uses the snapshot's local time zone: a store is shared across machines and zones — and keeps
 *   the newest bundle of each new bucket while its count lasts; keeping one uses up one of that rule's count;
 *   -1 is unlimited. The oldest bundle is also kept by a rule that still has count left (restic ≥ 0.17);
 * - `within` keeps every bundle newer than the newest bundle's time (bundles in the future are not the newest)
 *   minus the duration, counted in calendar years, months, days and hours;
 * - a bundle a label points at is always kept ("label <name>"), and is still counted by the rules, the way
 *   restic counts a snapshot kept by `--keep-tag`.
 */
import { InputError, usageError } from '../errors.js';
import type { BundleDescriptor } from '../vocab.js';

/** A calendar duration, as restic's `--keep-within` takes it (`1y2m3d4h`). */
export interface KeepWithin { years: number; months: number; days: number; hours: number }

/** A checked retention policy; a count of 0 (or absent) turns its rule off, -1 keeps every bucket. */
export interface RetentionPolicy {
  last: number; hourly: number; daily: number; weekly: number; monthly: number; yearly: number;
  within?: KeepWithin;
}

/** A policy as a caller gives it: counts as numbers or strings (`3`, `-1`, `unlimited`), `within` as `1y2m3d4h`. */
export type RetentionInput = Partial<Record<CountRule, number | string>> & { within?: string };

type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const COUNT_RULES: readonly CountRule[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'];

/** The input field of each rule, as InputErrors name it (the CLI words it as `--keep-<rule>`). */
export const RETENTION_FIELDS: Record<CountRule | 'within', string> = {
  last: 'keep-last', hourly: 'keep-hourly', daily: 'keep-daily', weekly: 'keep-weekly',
  monthly: 'keep-monthly', yearly: 'keep-yearly', within: 'keep-within',
};

/**
 * Checks a policy. USAGE (an InputError of the rule's field) on a count that is not an integer, or negative
 * other than -1; on a malformed or negative `within`; and a plain USAGE when no rule is on (an empty policy
 * would forget nothing, or — read the other way — everything: both are better asked again).
 */
export function retentionPolicy(input: RetentionInput): RetentionPolicy {
  const policy: RetentionPolicy = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 };
  for (const rule of COUNT_RULES) policy[rule] = parseCount(input[rule], RETENTION_FIELDS[rule]);
  if (input.within !== undefined) {
    const within = parseKeepWithin(input.within);
    if (within.years || within.months || within.days || within.hours) policy.within = within;
  }
  if (!COUNT_RULES.some((r) => policy[r] !== 0) && !policy.within) {
    throw usageError('no retention rule given: name bundles to forget, or give a --keep-* rule (see bundle forget --help)');
  }
  return policy;
}

function parseCount(value: number | string | undefined, field: string): number {
  if (value === undefined) return 0;
  if (value === 'unlimited') return -1;
  const text = String(value).trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) throw new InputError(field, JSON.stringify(String(value)), 'expected an integer (-1 or unlimited: keep all)');
  if (n < -1) throw new InputError(field, JSON.stringify(String(value)), 'negative counts other than -1 (unlimited) are not allowed');
  return n;
}

/**
 * Parses a calendar duration: numbers each followed by y (years), m (months), d (days) or h (hours), as in
 * `1y2m3d4h` or `30d`. USAGE (an InputError of field `keep-within`) otherwise, and on a negative number.
 */
export function parseKeepWithin(value: string): KeepWithin {
  const text = value.trim();
  const out: KeepWithin = { years: 0, months: 0, days: 0, hours: 0 };
  const unit = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;
  const bad = (problem: string) => new InputError(RETENTION_FIELDS.within, JSON.stringify(value), problem);
  if (!text) throw bad('expected a duration like 1y2m3d4h');
  const re = /(-?)(\d+)([a-z]?)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    if (m[1]) throw bad('negative durations are not allowed');
    if (!(m[3]! in unit)) throw bad(`expected y, m, d or h after ${m[2]} (a duration like 1y2m3d4h)`);
    out[unit[m[3] as keyof typeof unit]] = Number(m[2]);
  }
  if (re.lastIndex !== text.length) throw bad('expected a duration like 1y2m3d4h');
  return out;
}

/** A one-line summary of the policy, for the WAL and the output (`keep 7 daily, 4 weekly, within 1m`). */
export function describePolicy(p: RetentionPolicy): string {
  const parts = COUNT_RULES.filter((r) => p[r] !== 0).map((r) => `${p[r] === -1 ? 'all' : p[r]} ${r}`);
  if (p.within) parts.push(`within ${formatWithin(p.within)}`);
  return `keep ${parts.join(', ')}`;
}

export function formatWithin(w: KeepWithin): string {
  return `${w.years ? `${w.years}y` : ''}${w.months ? `${w.months}m` : ''}${w.days ? `${w.days}d` : ''}${w.hours ? `${w.hours}h` : ''}`;
}

/** The time retention reads a bundle at: when its data was taken (a rewrite keeps the original's). */
export function bundleTime(b: BundleDescriptor): number {
  return Date.parse(b.rewrittenFrom?.created ?? b.created);
}

export interface KeptBundle { bundle: BundleDescriptor; reasons: string[] }
export interface RetentionResult { keep: KeptBundle[]; remove: BundleDescriptor[] }

/**
 * Applies `policy` to `bundles` (one repo's); `labels` maps bundle id → the label names pointing at it.
 * Returns both lists newest first; each kept bundle with every rule that keeps it. `now` only decides which
 * bundles lie in the future (restic's guard for `within`).
 */
export function applyPolicy(
  bundles: readonly BundleDescriptor[], labels: ReadonlyMap<string, readonly string[]>, policy: RetentionPolicy, now = Date.now(),
): RetentionResult {
  const list = [...bundles].sort((a, b) => bundleTime(b) - bundleTime(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const counters = COUNT_RULES.map((rule) => ({ rule, left: policy[rule], last: undefined as number | undefined }));
  const cutoff = policy.within && list.length ? withinCutoff(newestNotFuture(list, now), policy.within) : undefined;
  const result: RetentionResult = { keep: [], remove: [] };
  list.forEach((bundle, nr) => {
    const time = bundleTime(bundle);
    const reasons = (labels.get(bundle.id) ?? []).map((name) => `label ${name}`);
    if (cutoff !== undefined && time > cutoff) reasons.push(`within ${formatWithin(policy.within!)}`);
    const oldest = nr === list.length - 1;
    for (const c of counters) {
      if (c.left === 0) continue;
      const bucket = c.rule === 'last' ? nr : bucketOf(c.rule, time);
      if (bucket === c.last && !oldest) continue;
      reasons.push(bucket === c.last ? `oldest ${c.rule}` : c.rule);
      c.last = bucket;
      if (c.left > 0) c.left--;
    }
    if (reasons.length) result.keep.push({ bundle, reasons });
    else result.remove.push(bundle);
  });
  return result;
}

/** The newest bundle time that is not in the future (the epoch when all are). */
function newestNotFuture(list: readonly BundleDescriptor[], now: number): number {
  let newest = 0;
  for (const b of list) {
    const t = bundleTime(b);
    if (t > newest && t < now) newest = t;
  }
  return newest;
}

/** `from` minus the duration: calendar fields first (days overflowing a month roll over, as Go's AddDate), then hours. */
function withinCutoff(from: number, w: KeepWithin): number {
  const d = new Date(from);
  const shifted = Date.UTC(d.getUTCFullYear() - w.years, d.getUTCMonth() - w.months, d.getUTCDate() - w.days,
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
  return shifted - w.hours * 3_600_000;
}

/** The bucket of a time under a rule, in UTC; equal numbers are one bucket, and they never grow back in time. */
function bucketOf(rule: Exclude<CountRule, 'last'>, ms: number): number {
  const d = new Date(ms);
  const [y, m, day, h] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours()];
  switch (rule) {
    case 'hourly': return ((y * 100 + m) * 100 + day) * 100 + h;
    case 'daily': return (y * 100 + m) * 100 + day;
    case 'weekly': { const w = isoWeek(ms); return w.year * 100 + w.week; }
    case 'monthly': return y * 100 + m;
    case 'yearly': return y;
  }
}

/** The ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday) of a UTC time. */
function isoWeek(ms: number): { year: number; week: number } {
  const d = new Date(ms);
  const dayOfWeek = (d.getUTCDay() + 6) % 7; // Monday 0 ... Sunday 6
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - dayOfWeek + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return { year, week };
}
