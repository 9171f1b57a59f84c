import { Option, type Command } from 'commander';
import {
  type BundleDescriptor, type BundleRef, DatamoverError, type PathSelector, type SyncMode, checkRef, contentId, globSelector, principalText, usageError,
} from '../../engine/index.js';
import type { Action } from '../action.js';
import { byteSize, collect } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { quoteName } from '../quote.js';
import { registerCompare } from './compare.js';
import { type ShardOptions, runShardUpload, shardOf } from './session.js';
import { type LineageOptions, lineageOf, lineageOptions } from './lineage-options.js';
import { type WorkflowOptions, addWorkflowOptions, keptPrinter, removalOf, runDryRun, sourceSelection } from './upload-workflows.js';

/** `--repo` and the bundle as `--bundle <ref>` or `--label <name>`. */
interface Ref { repo: string; bundle?: string; label?: string }

interface UploadOptions extends ShardOptions, LineageOptions, WorkflowOptions {
  repo: string; message: string; label?: string; rehash?: boolean; skipOnError?: boolean; packSize?: string; budget?: string;
}

/** Registers `bundle ...`; returns the `bundle` command, for the commands other modules add to it. */
export function registerBundle(program: Command, action: Action): Command {
  const bundle = program.command('bundle').description('upload, download and inspect bundles');
  addWorkflowOptions(lineageOptions(bundle.command('upload <dir>')).description('upload a directory tree as a new bundle')
    .requiredOption('--repo <repo>', 'repo').option('--message <text>', 'what changed', '')
    .option('--label <name>', 'point this label at the new bundle')
    .option('--rehash', 'read and hash every file, even those unchanged since the label\'s bundle')
    .option('--skip-on-error', 'leave out files that cannot be read (vanished, unreadable, changed while read); exit 3')
    .option('--session <id>', 'upload one shard of a split upload into this session (env DATAMOVER_SESSION)')
    .option('--shard <i/N>', 'the shard to upload: files whose path hash is i mod N (0 <= i < N)')
    .option('--shards <N>', 'shard count, with the index from JOB_COMPLETION_INDEX (env DATAMOVER_SHARDS)')
    .addOption(new Option('--pack-size <bytes>', 'target pack size (tuning)').hideHelp())
    .addOption(new Option('--budget <bytes>', 'bytes in flight (tuning)').hideHelp()))
    .action(action('bundle upload', async (ctx, dir: string, o: UploadOptions) => {
      const tuning = {
        workers: ctx.intOption('workers'), concurrency: ctx.intOption('concurrency'),
        packSize: byteSize(o.packSize, '--pack-size'), budgetBytes: byteSize(o.budget, '--budget'),
      };
      const shard = shardOf(o);
      if (shard && (o.input.length || o.run !== undefined)) throw usageError('--input and --run go on `bundle commit` for a split upload, not on a shard');
      const [selection, removeSourceFiles] = [await sourceSelection(o), removalOf(o, shard)];
      if (o.dryRun) {
        return runDryRun(ctx, o.repo, {
          source: dir, ...selection, contributor: ctx.contributor(), label: o.label, reporter: ctx.report, rehash: !!o.rehash,
          skipOnError: !!o.skipOnError, tuning, signal: ctx.signal, ...(shard ? { shard } : {}),
        });
      }
      if (shard) {
        const session = (o.session ?? process.env.DATAMOVER_SESSION)!;
        return runShardUpload(ctx, { ...o, dir, session, shard, rehash: !!o.rehash, skipOnError: !!o.skipOnError, tuning, selection });
      }
      const repo = (await ctx.store()).repo(o.repo);
      const result = await repo.upload({
        ...lineageOf(o), source: dir, ...selection, contributor: ctx.contributor(), message: o.message,
        label: o.label, reporter: keptPrinter(ctx), rehash: !!o.rehash, skipOnError: !!o.skipOnError, tuning, signal: ctx.signal,
        ...(removeSourceFiles ? { removeSourceFiles } : {}),
      });
      const b = result.bundle;
      const removal = result.removal;
      ctx.done({ bundle: b.id, repo: b.repo, files: b.files, bytes: b.bytes, ...b.stats, label: result.label?.name ?? null, skipped: result.skipped, ...(removal ? { removal } : {}) },
        ctx.opts.quiet ? b.id : `bundle ${b.id}: ${b.files} files, ${b.bytes} bytes, ${b.stats.newBytes} new, ${b.stats.seconds.toFixed(2)} s${removal ? `; ${removal.removed} source files removed, ${removal.kept} kept` : ''}`);
      if (removal && removal.kept > removal.keptRecent) process.exitCode = EXIT.partial;
      if (result.skipped.length) {
        const names = result.skipped.slice(0, 5).map((f) => `${quoteName(f.path)} (${f.reason})`).join(', ');
        process.stderr.write(`datamover: warning: ${result.skipped.length} file(s) left out of bundle ${b.id}: ${names}${result.skipped.length > 5 ? ', ...' : ''}\n`);
        process.exitCode = EXIT.partial;
      }
    }));
  selectOptions(refOptions(bundle.command('download <dest>').description('download a bundle (or the files matching --include) into a directory')))
    .option('--keep-going', 'restore every file that can be, then exit 4 naming the damaged ones')
    .option('--delete', 'mirror: then remove what the destination holds beyond the bundle (within --include/--exclude)')
    .option(...SYNC_OPTION)
    .action(action('bundle download', async (ctx, dest: string, o: Ref & Select & { keepGoing?: boolean; sync: string; delete?: boolean }) => {
      const select = selectorOf(o);
      const ref = refOf(o);
      const r = await (await ctx.repo(o.repo)).download({
        ref, dest, contributor: ctx.contributor(), reporter: ctx.report,
        concurrency: ctx.intOption('concurrency'), keepGoing: !!o.keepGoing, ...(select ? { select } : {}), sync: syncMode(o.sync),
        signal: ctx.signal, mirror: !!o.delete,
      });
      ctx.done({ ...r }, `bundle ${r.bundle}: ${r.files} files written (${r.bytes} bytes), ${r.skipped} already complete${r.deleted === undefined ? '' : `, ${r.deleted} removed`}`);
    }));
  selectOptions(refOptions(bundle.command('update <dest>').description('bring a directory holding bundle --from to this bundle: fetch only what changed, remove what went')))
    .requiredOption('--from <ref>', 'the bundle the directory holds now: an id, id prefix, label or latest')
    .option('--checksum', 'also hash every file the update would leave alone and fetch again those whose bytes differ from the bundle\'s')
    .option(...SYNC_OPTION)
    .action(action('bundle update', async (ctx, dest: string, o: Ref & Select & { from: string; sync: string; checksum?: boolean }) => {
      const [from, to, select] = [{ ref: checkRef(o.from, '--from') }, refOf(o), selectorOf(o)];
      const r = await (await ctx.repo(o.repo)).update({
        from, to, dest, contributor: ctx.contributor(), reporter: ctx.report,
        concurrency: ctx.intOption('concurrency'), sync: syncMode(o.sync), signal: ctx.signal, checksum: !!o.checksum, ...(select ? { select } : {}),
      });
      ctx.done({ ...r }, `updated ${r.from} -> ${r.bundle}: ${r.files} files written (${r.bytes} bytes), ${r.removed} removed, ${r.attributesFixed} attributes fixed${r.kept.length ? `, ${r.kept.length} kept` : ''}`);
      if (r.kept.length) {
        const names = r.kept.slice(0, 10).map((p) => quoteName(p)).join(', ');
        process.stderr.write(`datamover: warning: ${r.kept.length} entr${r.kept.length === 1 ? 'y' : 'ies'} of ${r.from} left in place, changed or holding entries not in the bundle: ${names}${r.kept.length > 10 ? ', ...' : ''}\n`);
        process.exitCode = EXIT.partial;
      }
    }));
  bundle.command('diff <a> <b>').description('what changed from bundle a to bundle b (refs: ids, id prefixes, labels, latest), from the manifests')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle diff', async (ctx, a: string, b: string, o: { repo: string }) => {
      const [ra, rb] = [{ ref: checkRef(a, 'bundle a') }, { ref: checkRef(b, 'bundle b') }];
      const { a: ba, b: bb, changes } = await (await ctx.repo(o.repo)).diff(ra, rb);
      const counts = { added: 0, removed: 0, changed: 0, addedBytes: 0, removedBytes: 0 };
      for await (const c of changes) {
        counts[c.kind]++;
        if (c.kind === 'added') counts.addedBytes += c.entry.size;
        if (c.kind === 'removed') counts.removedBytes += c.entry.size;
        const sizes = c.kind === 'changed' ? `${c.before.size} -> ${c.entry.size}${c.content ? '' : ' (mode/mtime only)'}` : String(c.entry.size);
        if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'change', kind: c.kind, path: c.entry.path, entryType: c.entry.type, size: c.entry.size, ...(c.kind === 'changed' ? { before: c.before.size, content: c.content } : {}) })}\n`);
        else process.stdout.write(`${c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : 'M'}\t${c.entry.type}\t${sizes}\t${quoteName(c.entry.path)}\n`);
      }
      ctx.done({ a: ba.id, b: bb.id, ...counts }, `${counts.added} added (${counts.addedBytes} bytes), ${counts.removed} removed (${counts.removedBytes} bytes), ${counts.changed} changed`);
    }));
  selectOptions(refOptions(bundle.command('verify').description('re-read every chunk of a bundle (or of the files matching --include) from the store and check its hash')))
    .action(action('bundle verify', async (ctx, o: Ref & Select) => {
      const [ref, select] = [refOf(o), selectorOf(o)];
      const r = await (await ctx.repo(o.repo)).verify({
        ref, contributor: ctx.contributor(), concurrency: ctx.intOption('concurrency'), reporter: ctx.report, signal: ctx.signal, ...(select ? { select } : {}),
      });
      ctx.done({ ...r }, `bundle ${r.bundle}: ${r.files} files, ${r.chunks} chunks (${r.bytes} bytes) verified`);
    }));
  bundle.command('list').description('list the bundles of a repo, oldest first')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle list', async (ctx, o: { repo: string }) => {
      const scan = await (await ctx.repo(o.repo)).bundles();
      const bundles = scan.bundles.map(({ pages: _pages, ...rest }) => rest);
      // A damaged descriptor hides no other bundle: the good ones are listed, then the command fails naming it.
      if (scan.damaged.length) {
        for (const b of bundles) process.stdout.write(ctx.opts.json ? `${JSON.stringify({ type: 'bundle', bundle: b })}\n` : `${bundleLine(b)}\n`);
        const first = scan.damaged[0]!;
        throw new DatamoverError('INTEGRITY', `${scan.damaged.length} bundle descriptor(s) of repo ${o.repo} are damaged and not listed: ${first.problem}${scan.damaged.length > 1 ? `; also ${scan.damaged.slice(1, 4).map((d) => d.key).join(', ')}` : ''}`);
      }
      ctx.done({ bundles }, bundles.map(bundleLine));
    }));
  bundle.command('get <ref>').description('show a bundle descriptor (ref: an id, id prefix, label or latest)')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('bundle get', async (ctx, ref: string, o: { repo: string }) => {
      checkRef(ref, 'bundle');
      const b = await (await ctx.repo(o.repo)).resolve(ref);
      ctx.done({ bundle: b }, [`id: ${b.id}`, `repo: ${b.repo}`, `created: ${b.created}`, `contributor: ${b.contributor.name} <${b.contributor.email}>`,
        `principal: ${principalText(b.principal)}`,
        `message: ${b.message}`, `files: ${b.files}`, `bytes: ${b.bytes}`, `new bytes: ${b.stats.newBytes}`, `parents: ${b.parents.join(', ')}`]);
    }));
  refOptions(bundle.command('files').description('list the entries of a bundle: type, size, content id (files; see README), path'))
    .action(action('bundle files', async (ctx, o: Ref) => {
      const ref = refOf(o);
      const { bundle: b, entries: listing } = await (await ctx.repo(o.repo)).files(ref, { contributor: ctx.contributor(), reporter: ctx.report });
      let count = 0;
      let entries = 0;
      for await (const e of listing) {
        entries++;
        if (e.type === 'file') count++;
        const id = e.type === 'file' ? contentId(e.chunks ?? []) : undefined;
        if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'file', entry: { ...e, chunks: undefined, contentId: id } })}\n`);
        else process.stdout.write(`${e.type}\t${e.size}\t${id ?? '-'}\t${quoteName(e.path)}${e.target !== undefined ? ` -> ${quoteName(e.target)}` : ''}\n`);
      }
      ctx.done({ bundle: b.id, files: count, entries }, []);
    }));
  registerCompare(bundle, action);
  return bundle;
}

function bundleLine(b: Omit<BundleDescriptor, 'pages'>): string {
  return `${b.id}\t${b.created}\t${b.files} files\t${b.bytes} bytes\t${b.stats.newBytes} new\t${b.contributor.name} <${b.contributor.email}>\t${principalText(b.principal)}\t${b.message}`;
}

function refOptions(cmd: Command): Command {
  return cmd.requiredOption('--repo <repo>', 'repo').option('--bundle <ref>', 'bundle: an id, id prefix (6+ characters), label or latest')
    .option('--label <name>', 'label');
}

/** `--include`/`--exclude`, as for a download: an include that matches no entry is USAGE naming it. */
interface Select { include: string[]; exclude: string[] }

function selectOptions(cmd: Command): Command {
  return cmd.option('--include <glob>', 'only paths matching this glob, or under this directory (repeatable)', collect, [])
    .option('--exclude <glob>', 'not paths matching this glob (repeatable)', collect, []);
}

function selectorOf(o: Select): PathSelector | undefined {
  return o.include.length || o.exclude.length ? globSelector(o.include, o.exclude) : undefined;
}

/** The bundle of `--bundle <ref>` or `--label <name>`: USAGE unless exactly one is given. */
function refOf(o: Ref): BundleRef {
  if (!!o.bundle === !!o.label) throw usageError('give exactly one of --bundle <ref> or --label <name>');
  return o.bundle !== undefined ? { ref: checkRef(o.bundle, '--bundle') } : { label: o.label };
}

const SYNC_OPTION = [
  '--sync <when>',
  'when written files are made durable: end (one file-system sync before success), file (each file fsynced before its rename), none',
  'end',
] as const;

function syncMode(value: string): SyncMode {
  if (value === 'end' || value === 'file' || value === 'none') return value;
  throw usageError(`--sync ${JSON.stringify(value)}: expected end, file or none`);
}
