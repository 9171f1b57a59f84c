import type { Command } from 'commander';
import { type GcResult, usageError } from '../../engine/index.js';
import type { Action } from '../action.js';
import { duration } from '../context.js';

/** `--grace`: 0 (at once when no upload runs) or a duration; ten years at most, so a typo is not a store that never shrinks. */
const parseGrace = (value: string) => duration(value, '--grace', 0, 3650 * 86_400_000)!;

/** `--max-unused`: a percentage (10%, 10) of a pack's bytes. */
function parseUnused(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(value.trim());
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 0 && pct <= 100)) throw usageError(`--max-unused: expected a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  return pct / 100;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** `gc`: the collector (docs/gc.md). */
export function registerGc(program: Command, action: Action): void {
  program.command('gc').description('delete packs no bundle needs, repack mostly-unused ones, tidy the index (safe while uploads run; see docs/gc.md)')
    .option('--dry-run', 'report what would be reclaimed; write nothing')
    .option('--grace <age>', 'how long condemned packs, sessions and staged uploads wait before deletion (0 = at once when no upload runs)', '24h')
    .option('--max-unused <percent>', 'repack packs with more than this share of unused bytes', '10%')
    .action(action('gc', async (ctx, o: { dryRun?: boolean; grace: string; maxUnused: string }) => {
      const graceMs = parseGrace(o.grace);
      const maxUnused = parseUnused(o.maxUnused);
      const store = await ctx.store();
      const r = await store.gc({ dryRun: !!o.dryRun, graceMs, maxUnused, signal: ctx.signal, reporter: ctx.report });
      for (const p of r.problems) process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'problem', detail: p })}\n` : `problem\t${p}\n`);
      ctx.done({ ...r }, summary(r));
    }));
}

function summary(r: GcResult): string {
  const live = `${r.liveChunks} live chunks (${mib(r.liveBytes)}) in ${r.packs} packs (${mib(r.packBytes)})`;
  if (r.dryRun) {
    return `dry run: ${live}; would condemn ${r.condemned.packs} pack(s) (${r.condemned.unused} unused, ${r.condemned.unindexed} unindexed, ${r.condemned.repacked} to repack); reclaimable ${mib(r.reclaimableBytes)}; ${r.waiting.packs} pack(s) (${mib(r.waiting.bytes)}) already condemned`;
  }
  return `${live}; deleted ${r.swept.packs} pack(s) (${mib(r.swept.bytes)})${r.swept.rescued ? `, ${r.swept.rescued} rescued` : ''}; repacked ${r.repacked.packs} into ${r.repacked.newPacks}; `
    + `condemned ${r.condemned.packs}; ${r.waiting.packs} pack(s) (${mib(r.waiting.bytes)}) wait for the grace period or running uploads; `
    + `${r.sessionsRemoved} session(s), ${r.pagesRemoved} orphan page(s), ${r.uploadsAborted} stale upload(s), ${r.leasesRevoked} expired lease(s) removed`;
}
