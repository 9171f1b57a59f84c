/** `bundle status` (a local folder against a bundle) and `bundle cat` (one file of a bundle to stdout, verified). */
import type { Command } from 'commander';
import { checkRef, usageError } from '../../engine/index.js';
import type { Action } from '../action.js';
import { EXIT_DIFFERS } from '../exit-codes.js';
import { quoteName } from '../quote.js';

const SIGN = { added: '+', removed: '-', changed: 'M', meta: 'm' } as const;

export function registerCompare(bundle: Command, action: Action): void {
  bundle.command('status <dir> <ref>')
    .description(`what differs between a local folder and a bundle (ref: an id, id prefix, label or latest); exit ${EXIT_DIFFERS} when they differ`)
    .requiredOption('--repo <repo>', 'repo')
    .option('--checksum', 'compare files by content (hashing them), not by size and mtime')
    .action(action('bundle status', async (ctx, dir: string, ref: string, o: { repo: string; checksum?: boolean }) => {
      checkRef(ref, 'bundle');
      const { bundle: b, changes } = await (await ctx.repo(o.repo)).status(ref, dir, { checksum: !!o.checksum, reporter: ctx.report });
      const counts = { added: 0, removed: 0, changed: 0, meta: 0 };
      for await (const c of changes) {
        counts[c.kind]++;
        if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'change', kind: c.kind, path: c.path, entryType: c.type, size: c.size })}\n`);
        else process.stdout.write(`${SIGN[c.kind]}\t${c.type}\t${c.size}\t${quoteName(c.path)}\n`);
      }
      const same = !counts.added && !counts.removed && !counts.changed && !counts.meta;
      ctx.done({ bundle: b.id, same, ...counts, checksum: !!o.checksum },
        same ? `same as bundle ${b.id}` : `${counts.added} added, ${counts.removed} removed, ${counts.changed} changed, ${counts.meta} mode/mtime only (against bundle ${b.id})`);
      if (!same) process.exitCode = EXIT_DIFFERS;
    }));
  bundle.command('cat <ref> <path>').description('write one file of a bundle to stdout, every chunk verified before its bytes are written')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle cat', async (ctx, ref: string, path: string, o: { repo: string }) => {
      if (ctx.opts.json) throw usageError('bundle cat writes the file to stdout: --json does not apply');
      checkRef(ref, 'bundle');
      const { bytes } = await (await ctx.repo(o.repo)).cat(ref, path, { contributor: ctx.contributor(), reporter: ctx.report });
      await writeAll(bytes, process.stdout);
    }));
}

/**
 * Writes every chunk to `out`, waiting for it to drain; stops quietly once `out` is closed or fails (a reader
 * that went away, `| head -c 10`): the rest is not read, and the read is logged as interrupted.
 */
async function writeAll(chunks: AsyncIterable<Uint8Array>, out: NodeJS.WriteStream): Promise<void> {
  let closed = false;
  const stop = () => { closed = true; };
  out.once('error', stop).once('close', stop);
  try {
    for await (const chunk of chunks) {
      if (closed) break;
      if (!out.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = () => { out.off('drain', go).off('close', go).off('error', go); resolve(); };
          out.on('drain', go).on('close', go).on('error', go);
        });
      }
      if (closed) break;
    }
  } finally {
    out.off('error', stop).off('close', stop);
  }
}
