import { Option, type Command } from 'commander';
import { downloadBundle } from '../../engine/download/download.js';
import { checkBundleRef, getBundle, listBundles, resolveBundle } from '../../engine/meta/bundles.js';
import { openFormat } from '../../engine/meta/format.js';
import { readEntries } from '../../engine/meta/manifest.js';
import { appendReadLog } from '../../engine/meta/readlog.js';
import { getRepo } from '../../engine/meta/repos.js';
import { uploadBundle } from '../../engine/pipeline/upload.js';
import { byteSize } from '../context.js';
import type { Action } from '../main.js';

interface Ref { repo: string; bundle?: string; label?: string }

export function registerBundle(program: Command, action: Action): void {
  const bundle = program.command('bundle').description('upload, download and inspect bundles');
  bundle.command('upload <dir>').description('upload a directory tree as a new bundle')
    .requiredOption('--repo <repo>', 'repo').option('--message <text>', 'what changed', '')
    .option('--label <name>', 'point this label at the new bundle')
    .addOption(new Option('--pack-size <bytes>', 'target pack size (tuning)').hideHelp())
    .addOption(new Option('--budget <bytes>', 'bytes in flight (tuning)').hideHelp())
    .action(action('bundle upload', async (ctx, dir: string, o: { repo: string; message: string; label?: string; packSize?: string; budget?: string }) => {
      const result = await uploadBundle({
        storage: ctx.store, repo: o.repo, source: dir, contributor: ctx.contributor(), message: o.message,
        label: o.label, reporter: ctx.report,
        tuning: {
          workers: ctx.intOption('workers'), concurrency: ctx.intOption('concurrency'),
          packSize: byteSize(o.packSize, '--pack-size'), budgetBytes: byteSize(o.budget, '--budget'),
        },
      });
      const b = result.bundle;
      ctx.done({ bundle: b.id, repo: b.repo, files: b.files, bytes: b.bytes, ...b.stats, label: result.label?.name ?? null },
        ctx.opts.quiet ? b.id : `bundle ${b.id}: ${b.files} files, ${b.bytes} bytes, ${b.stats.newBytes} new, ${b.stats.seconds.toFixed(2)} s`);
    }));
  refOptions(bundle.command('download <dest>').description('download a bundle into a directory'))
    .action(action('bundle download', async (ctx, dest: string, o: Ref) => {
      const r = await downloadBundle({
        storage: ctx.store, repo: o.repo, ref: o, dest, contributor: ctx.contributor(), reporter: ctx.report,
        concurrency: ctx.intOption('concurrency'),
      });
      ctx.done({ ...r }, `bundle ${r.bundle}: ${r.files} files written (${r.bytes} bytes), ${r.skipped} already complete`);
    }));
  bundle.command('list').description('list the bundles of a repo, oldest first')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle list', async (ctx, o: { repo: string }) => {
      await openFormat(ctx.store, false);
      const bundles = (await listBundles(ctx.store, o.repo)).map(({ pages: _pages, ...rest }) => rest);
      ctx.done({ bundles }, bundles.map((b) => `${b.id}\t${b.created}\t${b.files} files\t${b.bytes} bytes\t${b.contributor.email}\t${b.message}`));
    }));
  bundle.command('get <id>').description('show a bundle descriptor')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle get', async (ctx, id: string, o: { repo: string }) => {
      await openFormat(ctx.store, false);
      await getRepo(ctx.store, o.repo);
      const b = await getBundle(ctx.store, o.repo, id);
      ctx.done({ bundle: b }, [`id: ${b.id}`, `repo: ${b.repo}`, `created: ${b.created}`, `contributor: ${b.contributor.name} <${b.contributor.email}>`,
        `message: ${b.message}`, `files: ${b.files}`, `bytes: ${b.bytes}`, `new bytes: ${b.stats.newBytes}`, `parents: ${b.parents.join(', ')}`]);
    }));
  refOptions(bundle.command('files').description('list the files of a bundle'))
    .action(action('bundle files', async (ctx, o: Ref) => {
      checkBundleRef(o);
      await openFormat(ctx.store, false);
      const b = await resolveBundle(ctx.store, o.repo, o);
      let count = 0;
      let entries = 0;
      for await (const e of readEntries(ctx.store, b.pages)) {
        entries++;
        if (e.type === 'file') count++;
        if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'file', entry: { ...e, chunks: undefined } })}\n`);
        else process.stdout.write(`${e.type}\t${e.size}\t${e.path}${e.target !== undefined ? ` -> ${e.target}` : ''}\n`);
      }
      await appendReadLog(ctx.store, { type: 'bundle.files', repo: o.repo, bundle: b.id, contributor: ctx.contributor(), files: count, bytes: b.bytes });
      ctx.done({ bundle: b.id, files: count, entries }, []);
    }));
}

function refOptions(cmd: Command): Command {
  return cmd.requiredOption('--repo <repo>', 'repo').option('--bundle <id>', 'bundle id').option('--label <name>', 'label');
}
