import type { Command } from 'commander';
import { type IndexRepair, displayName, integrityError } from '../../engine/index.js';
import { duration } from '../context.js';
import type { Action } from '../action.js';

/** `fsck`: checks the store; prints each problem, exits 4 when there is any. */
export function registerFsck(program: Command, action: Action): void {
  program.command('fsck').description('check the store: packs, indexes, manifests, labels, the WAL and read-log chains (--read-data: every chunk\'s bytes)')
    .option('--read-data', 'also read back every referenced chunk and check its hash')
    .option('--repair-index', 'first rebuild the blob index from the packs\' trailers (damaged index objects, packs of killed uploads)')
    .option('--abort-stale-uploads <age>', 'abort multipart uploads (and staged local writes) older than this, e.g. 24h: what killed uploads leave')
    .action(action('fsck', async (ctx, o: { readData?: boolean; abortStaleUploads?: string; repairIndex?: boolean }) => {
      const age = o.abortStaleUploads === undefined ? undefined : duration(o.abortStaleUploads, '--abort-stale-uploads');
      const store = await ctx.store();
      const r = await store.fsck({ readData: !!o.readData, concurrency: ctx.intOption('concurrency'), repairIndex: !!o.repairIndex, signal: ctx.signal });
      printRepair(r.repair, !!ctx.opts.json);
      const aborted = age === undefined ? [] : await store.abortStaleUploads(age);
      for (const key of aborted) process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'aborted', key })}\n` : `aborted\t${key}\n`);
      for (const n of r.notes) process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'note', ...n })}\n` : `note\t${displayName(n.what)}\t${displayName(n.detail)}\n`);
      for (const p of r.problems) {
        process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'problem', ...p })}\n` : `problem\t${displayName(p.what)}\t${displayName(p.detail)}\n`);
      }
      const pending = r.pendingUploads;
      if (pending?.count && !ctx.opts.json) {
        const bytes = pending.bytes === undefined ? '' : `, ${pending.bytes} bytes staged`;
        const since = pending.oldestMs === undefined ? '' : `, the oldest begun ${new Date(pending.oldestMs).toISOString()}`;
        process.stdout.write(`note\tunfinished uploads\t${pending.count}${bytes}${since} (a running upload's, or left by an interrupted one: --abort-stale-uploads <age> removes those older than <age>)\n`);
      }
      const counts = `${r.repos} repos, ${r.bundles} bundles, ${r.labels} labels, ${r.packs} packs${o.readData ? `, ${r.blobsChecked} chunks read` : ''}`;
      if (r.problems.length) {
        throw integrityError(`fsck: ${r.problems.length} problem(s) in ${store.url} (${counts}); first: ${displayName(r.problems[0]!.what)}: ${displayName(r.problems[0]!.detail)}`);
      }
      ctx.done({ ...r, problems: 0, notes: r.notes.length, repair: undefined, abortedUploads: aborted.length }, `no problems: ${counts}${r.orphanPacks ? `; ${r.orphanPacks} orphan pack(s), ${r.orphanBytes} bytes` : ''}${age === undefined ? '' : `; ${aborted.length} stale upload(s) aborted`}`);
    }));
}

function printRepair(repair: IndexRepair | undefined, json: boolean): void {
  if (!repair) return;
  const { indexed } = repair;
  const line = (type: string, fields: Record<string, unknown>, text: string) =>
    process.stdout.write(json ? `${JSON.stringify({ type, ...fields })}\n` : `${text}\n`);
  line('reindexed', { packs: indexed.packs, blobs: indexed.blobs, bytes: indexed.bytes, key: indexed.key ?? null },
    `reindexed\t${indexed.packs} pack(s), ${indexed.blobs} blob(s), ${indexed.bytes} bytes${indexed.key ? ` into ${indexed.key}` : ''}`);
  for (const d of indexed.damaged) line('unindexable', d, `unindexable\tpack ${d.pack}\t${d.reason}`);
  for (const key of repair.removed) line('removed', { key }, `removed\t${key}\tdamaged index object, superseded by the rebuilt index`);
  for (const k of repair.kept) line('kept', k, `kept\t${k.key}\t${k.reason}`);
}
