import type { Command } from 'commander';
import { getBundle } from '../../engine/meta/bundles.js';
import { checkRef, resolveRef } from '../../engine/meta/refs.js';
import { checkBundleId } from '../../engine/meta/ids.js';
import { deleteLabel, getLabel, labelHistory, listLabels, setLabel } from '../../engine/meta/labels.js';
import type { Action } from '../main.js';

export function registerLabel(program: Command, action: Action): void {
  const label = program.command('label').description('name bundles');
  label.command('set <name>').description('point a label at a bundle (compare-and-swap)')
    .requiredOption('--repo <repo>', 'repo').requiredOption('--bundle <ref>', 'the bundle: an id, id prefix, label or latest')
    .option('--expect <id|none>', 'move only if the label now points at this bundle (none: only if unset)')
    .action(action('label set', async (ctx, name: string, o: { repo: string; bundle: string; expect?: string }) => {
      const expect = parseExpect(o.expect);
      checkRef(o.bundle, '--bundle');
      await ctx.openRepo(o.repo);
      const bundle = (await getBundle(ctx.store, o.repo, await resolveRef(ctx.store, o.repo, o.bundle))).id;
      const l = await setLabel(ctx.store, o.repo, name, bundle, ctx.contributor(), expect === undefined ? {} : { expect });
      ctx.done({ label: l }, `label ${name} -> ${bundle}`);
    }));
  label.command('delete <name>').description('delete a label (compare-and-swap; recorded in the WAL)')
    .requiredOption('--repo <repo>', 'repo')
    .option('--expect <id>', 'delete only if the label now points at this bundle')
    .action(action('label delete', async (ctx, name: string, o: { repo: string; expect?: string }) => {
      const expect = parseExpect(o.expect);
      await ctx.openRepo(o.repo);
      const l = await deleteLabel(ctx.store, o.repo, name, ctx.contributor(), expect === undefined ? {} : { expect });
      ctx.done({ label: l }, `label ${name} deleted`);
    }));
  label.command('history <name>').description('every move of a label, newest first, from the WAL')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label history', async (ctx, name: string, o: { repo: string }) => {
      await ctx.openRepo(o.repo);
      const moves = await labelHistory(ctx.store, o.repo, name);
      ctx.done({ moves }, moves.map((m) => `${m.at}\t${m.type === 'label.delete' ? 'deleted' : m.bundle}\t${m.contributor.name} <${m.contributor.email}>\t${m.id}`));
    }));
  label.command('get <name>').description('show a label')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label get', async (ctx, name: string, o: { repo: string }) => {
      await ctx.openRepo(o.repo);
      const l = await getLabel(ctx.store, o.repo, name);
      ctx.done({ label: l }, `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`);
    }));
  label.command('list').description('list labels of a repo')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label list', async (ctx, o: { repo: string }) => {
      await ctx.openRepo(o.repo);
      const labels = await listLabels(ctx.store, o.repo);
      ctx.done({ labels }, labels.map((l) => `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`));
    }));
}

function parseExpect(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return value === 'none' ? null : checkBundleId(value, '--expect');
}
