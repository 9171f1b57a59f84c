/** `copy SRC DST`: a plain tree copy between any two of local/s3/gs, for migrations (DESIGN §9). */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { badInput, usageError } from '../../engine/index.js';
import { EXIT } from '../exit-codes.js';
import type { Action } from '../action.js';

const isLocal = (url: string) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(url);

export function registerCopy(program: Command, action: Action): void {
  program.command('copy <src> <dst>')
    .description('copy every object (file) of SRC to DST: paths, s3://bucket/prefix, gs://bucket/prefix; identical objects are skipped')
    .option('--dry-run', 'print what would be copied or deleted; change nothing')
    .option('--delete', 'delete objects in DST that SRC does not have (never when SRC lists nothing)')
    .action(action('copy', async (ctx, src: string, dst: string, o: { dryRun?: boolean; delete?: boolean }) => {
      if (isLocal(src) && isLocal(dst) && path.resolve(src) === path.resolve(dst)) throw usageError(`copy: ${src} and ${dst} are the same place`);
      if (src === dst) throw usageError(`copy: ${src} and ${dst} are the same place`);
      if (isLocal(src)) {
        const st = await stat(src).catch(() => undefined);
        if (!st?.isDirectory()) throw badInput(`copy: source ${src} is not a directory`);
      }
      const [source, dest] = [await ctx.openUrl(src), await ctx.openUrl(dst)];
      const r = await source.copyTo(dest, {
        concurrency: ctx.intOption('concurrency'),
        dryRun: !!o.dryRun, delete: !!o.delete, signal: ctx.signal,
        reporter: (e) => {
          if (o.dryRun && !ctx.opts.json && e.type === 'copy.object' && e.action !== 'skip') process.stdout.write(`${e.action}\t${e.bytes}\t${e.key}\n`);
          ctx.report(e);
        },
      });
      const verb = o.dryRun ? 'would copy' : 'copied';
      ctx.done({ ...r, dryRun: !!o.dryRun },
        `${verb} ${r.copied} objects (${r.copiedBytes} bytes), ${r.skipped} identical skipped${o.delete ? `, ${o.dryRun ? 'would delete' : 'deleted'} ${r.deleted}` : ''}`);
      if (r.deleteRefused) {
        process.stderr.write(`datamover: warning: --delete refused: ${r.deleteRefused}\n`);
        process.exitCode = EXIT.partial;
      }
    }));
}
