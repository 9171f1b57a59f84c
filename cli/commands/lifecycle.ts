/**
 * The data-lifecycle commands: `bundle forget` (by ref or by retention policy), `bundle rewrite`,
 * `repo delete`, `repo stats` and `stats`.
 */
import type { Command } from 'commander';
import { type ForgetResult, type RetentionInput, type UsageStats, checkRef, usageError } from '../../engine/index.js';
import type { Action } from '../action.js';
import { collect } from '../context.js';

interface ForgetOptions {
  repo: string; force?: boolean; dryRun?: boolean;
  keepLast?: string; keepHourly?: string; keepDaily?: string; keepWeekly?: string; keepMonthly?: string; keepYearly?: string; keepWithin?: string;
}

/** Registers the commands on the `bundle` and `repo` groups (made before) and `stats` on the program. */
export function registerLifecycle(program: Command, action: Action): void {
  const group = (name: string) => program.commands.find((c) => c.name() === name)!;
  registerForget(group('bundle'), action);
  registerRewrite(group('bundle'), action);
  registerRepoLifecycle(group('repo'), action);
  program.command('stats').description('bundles, files, logical and stored bytes, dedup ratio: per repo and for the store')
    .action(action('stats', async (ctx) => {
      const s = await (await ctx.store()).stats();
      ctx.done({ ...s }, [...s.repos.map((r) => statsLine(`repo ${r.repo}`, r)), statsLine('store', s), `packs: ${s.packs}, ${s.packBytes} bytes; reclaimable by gc: ${s.reclaimableBytes} bytes`]);
    }));
}

function registerForget(bundle: Command, action: Action): void {
  bundle.command('forget [refs...]').description('forget bundles (refs: ids, id prefixes, labels, latest) or those a --keep-* policy does not keep; gc reclaims their data')
    .requiredOption('--repo <repo>', 'repo')
    .option('--force', 'also forget bundles that labels point at, deleting those labels')
    .option('--keep-last <n>', 'keep the n newest bundles (-1 or unlimited: all)')
    .option('--keep-hourly <n>', 'keep the newest bundle of each of the last n hours that have one (UTC)')
    .option('--keep-daily <n>', 'keep the newest bundle of each of the last n days that have one (UTC)')
    .option('--keep-weekly <n>', 'keep the newest bundle of each of the last n ISO weeks that have one (UTC)')
    .option('--keep-monthly <n>', 'keep the newest bundle of each of the last n months that have one (UTC)')
    .option('--keep-yearly <n>', 'keep the newest bundle of each of the last n years that have one (UTC)')
    .option('--keep-within <duration>', 'keep bundles newer than the newest minus this calendar duration, e.g. 1y2m3d4h')
    .option('--dry-run', 'print what would be forgotten and why each other bundle is kept; change nothing')
    .action(action('bundle forget', async (ctx, refs: string[], o: ForgetOptions) => {
      for (const ref of refs) checkRef(ref, 'bundle');
      const keep: RetentionInput = {
        last: o.keepLast, hourly: o.keepHourly, daily: o.keepDaily, weekly: o.keepWeekly, monthly: o.keepMonthly, yearly: o.keepYearly, within: o.keepWithin,
      };
      const r = await (await ctx.repo(o.repo)).forget({
        refs, keep, force: !!o.force, dryRun: !!o.dryRun, contributor: ctx.contributor(), reporter: ctx.report,
      });
      ctx.done({ repo: o.repo, ...r }, forgetLines(r));
    }));
}

function forgetLines(r: ForgetResult): string[] {
  const verb = r.dryRun ? 'would forget' : 'forgot';
  const lines = [
    ...(r.policy ? [`policy: ${r.policy}`] : []),
    ...r.kept.map((k) => `keep\t${k.bundle}\t${k.created}\t${k.reasons.join(', ')}`),
    ...r.forgotten.map((f) => (f.status === 'forgotten' ? `${verb}\t${f.bundle}\t${f.created ?? ''}${f.labels.length ? `\tlabels deleted: ${f.labels.join(', ')}` : ''}`
      : f.status === 'labelled' ? `kept\t${f.bundle}\tlabel ${f.labels.join(', ')} points at it now` : `already forgotten\t${f.bundle}`)),
  ];
  const gone = r.forgotten.filter((f) => f.status === 'forgotten').length;
  lines.push(`${gone} bundle(s) ${r.dryRun ? 'would be ' : ''}forgotten${r.policy ? `, ${r.kept.length} kept` : ''}${r.dryRun ? ' (dry run: nothing changed)' : ''}`);
  return lines;
}

function registerRewrite(bundle: Command, action: Action): void {
  bundle.command('rewrite [refs...]').description('write new bundles without the entries --exclude matches, move their labels, forget the originals')
    .requiredOption('--repo <repo>', 'repo')
    .option('--exclude <glob>', 'path or glob to remove, with everything under it (repeatable)', collect, [])
    .option('--all', 'rewrite every bundle of the repo')
    .option('--dry-run', 'check the patterns and print what would be rewritten; change nothing')
    .action(action('bundle rewrite', async (ctx, refs: string[], o: { repo: string; exclude: string[]; all?: boolean; dryRun?: boolean }) => {
      for (const ref of refs) checkRef(ref, 'bundle');
      if (!!refs.length === !!o.all) throw usageError('bundle rewrite: give the bundles to rewrite or --all, not both');
      const r = await (await ctx.repo(o.repo)).rewrite({
        refs, all: !!o.all, exclude: o.exclude, dryRun: !!o.dryRun, contributor: ctx.contributor(), reporter: ctx.report,
      });
      ctx.done({ repo: o.repo, ...r }, [
        ...r.rewritten.map((w) => (r.dryRun ? `would rewrite\t${w.from}\t${w.removed} entries removed` : `rewrote\t${w.from}\t-> ${w.bundle}\t${w.removed} entries removed`)),
        ...r.labelsMoved.map((m) => `label\t${m.label}\t${m.from} -> ${m.to}`),
        `${r.rewritten.length} bundle(s) ${r.dryRun ? 'would be ' : ''}rewritten, ${r.unchanged.length} unchanged${r.dryRun ? ' (dry run: nothing changed)' : ''}`,
      ]);
    }));
}

function registerRepoLifecycle(repo: Command, action: Action): void {
  repo.command('delete <repo>').description('delete a repo: its bundles, labels and sessions (its WAL and read log stay); gc reclaims its data')
    .option('--yes', 'really delete it')
    .action(action('repo delete', async (ctx, name: string, o: { yes?: boolean }) => {
      if (!o.yes) throw usageError(`repo delete ${name}: --yes not given (deleting a repo removes its bundles, labels and sessions); nothing deleted`);
      const r = await (await ctx.store()).deleteRepo(name, ctx.contributor());
      ctx.done({ ...r }, `deleted repo ${name}: ${r.bundles} bundle(s), ${r.labels} label(s), ${r.sessions} session(s)${r.resumed ? ' (finished an interrupted delete)' : ''}`);
    }));
  repo.command('stats <repo>').description('bundles, files, logical and stored bytes, dedup ratio of a repo')
    .action(action('repo stats', async (ctx, name: string) => {
      const s = await (await ctx.repo(name)).stats();
      ctx.done({ ...s }, statsLine(`repo ${name}`, s));
    }));
}

function statsLine(what: string, s: UsageStats): string {
  const ratio = s.dedupRatio === null ? '-' : `${s.dedupRatio.toFixed(2)}x`;
  const unindexed = s.unindexedChunks ? `, ${s.unindexedChunks} chunk(s) in no index` : '';
  return `${what}: ${s.bundles} bundles, ${s.files} files, ${s.logicalBytes} bytes logical, ${s.storedBytes} bytes stored (${s.chunks} chunks), dedup ${ratio}${unindexed}`;
}
