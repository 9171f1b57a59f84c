import type { Command } from 'commander';
import { checkBundleId, checkRef, principalText } from '../../engine/index.js';
import type { Action } from '../action.js';

export function registerLabel(program: Command, action: Action): void {
  const label = program.command('label').description('name bundles');
  label.command('set <name>').description('point a label at a bundle (compare-and-swap)')
    .requiredOption('--repo <repo>', 'repo').requiredOption('--bundle <ref>', 'the bundle: an id, id prefix, label or latest')
    .option('--expect <id|none>', 'move only if the label now points at this bundle (none: only if unset)')
    .action(action('label set', async (ctx, name: string, o: { repo: string; bundle: string; expect?: string }) => {
      const expect = parseExpect(o.expect);
      const ref = checkRef(o.bundle, '--bundle');
      const l = await (await ctx.repo(o.repo)).setLabel(name, ref, ctx.contributor(), expect === undefined ? {} : { expect });
      ctx.done({ label: l }, `label ${name} -> ${l.bundle}`);
    }));
  label.command('delete <name>').description('delete a label (compare-and-swap; recorded in the WAL)')
    .requiredOption('--repo <repo>', 'repo')
    .option('--expect <id>', 'delete only if the label now points at this bundle')
    .action(action('label delete', async (ctx, name: string, o: { repo: string; expect?: string }) => {
      const expect = parseExpect(o.expect);
      const l = await (await ctx.repo(o.repo)).deleteLabel(name, ctx.contributor(), expect === undefined ? {} : { expect });
      ctx.done({ label: l }, `label ${name} deleted`);
    }));
  label.command('history <name>').description('every move of a label, newest first, from the WAL')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label history', async (ctx, name: string, o: { repo: string }) => {
      const moves = await (await ctx.repo(o.repo)).labelHistory(name);
      ctx.done({ moves }, moves.map((m) => `${m.at}\t${m.type === 'label.delete' ? 'deleted' : m.bundle}\t${m.contributor.name} <${m.contributor.email}>\t${principalText(m.principal)}\t${m.id}`));
    }));
  label.command('get <name>').description('show a label')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label get', async (ctx, name: string, o: { repo: string }) => {
      const l = await (await ctx.repo(o.repo)).label(name);
      ctx.done({ label: l }, `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`);
    }));
  label.command('list').description('list labels of a repo')
    .requiredOption('--repo <repo>', 'repo').option('--prefix <text>', 'only labels whose name starts with this')
    .action(action('label list', async (ctx, o: { repo: string; prefix?: string }) => {
      const labels = await (await ctx.repo(o.repo)).labels(o.prefix);
      ctx.done({ labels }, labels.map((l) => `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`));
    }));
}

function parseExpect(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  return value === 'none' ? null : checkBundleId(value, '--expect');
}
