/** Split uploads: `session start`, `bundle upload --session --shard`, `bundle commit --session` (DESIGN §8). */
import type { Command } from 'commander';
import { MAX_SHARDS, type ShardSpec, type SourceSelection, type Tuning, parseShard, usageError } from '../../engine/index.js';
import type { CommandContext } from '../context.js';
import { boundedInt } from '../context.js';
import { EXIT } from '../exit-codes.js';
import type { Action } from '../action.js';
import { type LineageOptions, lineageOf, lineageOptions } from './lineage-options.js';

export function registerSession(program: Command, bundle: Command, action: Action): void {
  const session = program.command('session').description('split one upload over many processes or pods');
  session.command('start').description('start a split upload; prints the session id for `bundle upload --session`')
    .requiredOption('--repo <repo>', 'repo').option('--message <text>', 'what the bundle will hold', '')
    .action(action('session start', async (ctx, o: { repo: string; message: string }) => {
      const s = await (await ctx.repo(o.repo)).startSession(ctx.contributor(), o.message);
      ctx.done({ session: s.id, repo: s.repo }, s.id);
    }));
  lineageOptions(bundle.command('commit')).description('merge every shard of a session into one bundle')
    .requiredOption('--repo <repo>', 'repo').requiredOption('--session <id>', 'the session (env DATAMOVER_SESSION)', process.env.DATAMOVER_SESSION)
    .option('--label <name>', 'point this label at the new bundle').option('--message <text>', 'what changed (default: the session\'s)')
    .action(action('bundle commit', async (ctx, o: { repo: string; session: string; label?: string; message?: string } & LineageOptions) => {
      const r = await (await ctx.store()).repo(o.repo).commitSession({
        ...lineageOf(o), session: o.session, contributor: ctx.contributor(), label: o.label, message: o.message,
      });
      const b = r.bundle;
      ctx.done({ bundle: b.id, repo: b.repo, files: b.files, bytes: b.bytes, ...b.stats, label: r.label?.name ?? null },
        ctx.opts.quiet ? b.id : `bundle ${b.id}: ${b.files} files, ${b.bytes} bytes, ${b.stats.newBytes} new, from session ${o.session}`);
    }));
}

export interface ShardOptions { session?: string; shard?: string; shards?: string; label?: string }

/**
 * The shard this process uploads: `--shard i/N`, or `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs) with
 * `--shards N` / DATAMOVER_SHARDS. Undefined for a plain upload. USAGE when the flags do not fit together.
 */
export function shardOf(o: ShardOptions, env = process.env): ShardSpec | undefined {
  const session = o.session ?? env.DATAMOVER_SESSION;
  if (!session) {
    if (o.shard || o.shards) throw usageError('--shard/--shards need --session <id> (from `datamover session start`)');
    return undefined;
  }
  if (o.label) throw usageError('--label goes on `bundle commit` for a split upload, not on a shard');
  if (o.shard) return parseShard(o.shard);
  const count = boundedInt(o.shards ?? env.DATAMOVER_SHARDS, o.shards ? '--shards' : 'DATAMOVER_SHARDS', MAX_SHARDS);
  const index = env.JOB_COMPLETION_INDEX;
  if (count === undefined || index === undefined) {
    throw usageError('--session needs --shard i/N, or JOB_COMPLETION_INDEX with --shards N (or DATAMOVER_SHARDS)');
  }
  return parseShard(`${index}/${count}`, 'JOB_COMPLETION_INDEX/--shards'); // a field the CLI words itself
}

export interface ShardUploadOptions {
  repo: string; dir: string; message: string; session: string; shard: ShardSpec; rehash: boolean; skipOnError: boolean;
  tuning: Partial<Tuning>;
  /** `--files`, `--exclude`: what of `dir` this shard takes (with a list, exactly the list). */
  selection?: SourceSelection;
}

export async function runShardUpload(ctx: CommandContext, o: ShardUploadOptions): Promise<void> {
  const r = await (await ctx.store()).repo(o.repo).uploadShard({
    source: o.dir, ...o.selection, contributor: ctx.contributor(), message: o.message,
    reporter: ctx.report, rehash: o.rehash, skipOnError: o.skipOnError, tuning: o.tuning, session: o.session, shard: o.shard,
    signal: ctx.signal,
  });
  const s = r.shard;
  ctx.done({ session: s.session, shard: `${s.index}/${s.count}`, files: s.files, bytes: s.bytes, ...s.stats, skipped: r.skipped },
    `session ${s.session} shard ${s.index}/${s.count}: ${s.files} files, ${s.bytes} bytes, ${s.stats.newBytes} new, ${s.stats.seconds.toFixed(2)} s`);
  if (r.skipped.length) {
    process.stderr.write(`datamover: warning: ${r.skipped.length} file(s) left out of shard ${s.index}/${s.count}: ${r.skipped.slice(0, 5).map((f) => `${f.path} (${f.reason})`).join(', ')}\n`);
    process.exitCode = EXIT.partial;
  }
}
