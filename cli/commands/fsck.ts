import type { Command } from 'commander';
import { fsck } from '../../engine/check/fsck.js';
import { integrityError } from '../../engine/errors.js';
import type { Action } from '../main.js';

/** `fsck`: checks the store; prints each problem, exits 4 when there is any. */
export function registerFsck(program: Command, action: Action): void {
  program.command('fsck').description('check the store: packs, indexes, manifests, labels (--read-data: every chunk\'s bytes)')
    .option('--read-data', 'also read back every referenced chunk and check its hash')
    .action(action('fsck', async (ctx, o: { readData?: boolean }) => {
      const r = await fsck(ctx.store, { readData: !!o.readData, concurrency: ctx.intOption('concurrency') });
      for (const p of r.problems) {
        process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'problem', ...p })}\n` : `problem\t${p.what}\t${p.detail}\n`);
      }
      const counts = `${r.repos} repos, ${r.bundles} bundles, ${r.labels} labels, ${r.packs} packs${o.readData ? `, ${r.blobsChecked} chunks read` : ''}`;
      if (r.problems.length) {
        throw integrityError(`fsck: ${r.problems.length} problem(s) in ${ctx.store.url} (${counts}); first: ${r.problems[0]!.what}: ${r.problems[0]!.detail}`);
      }
      ctx.done({ ...r, problems: 0 }, `no problems: ${counts}`);
    }));
}
