import type { Command } from 'commander';
import { getBundle } from '../../engine/meta/bundles.js';
import { openFormat } from '../../engine/meta/format.js';
import { getLabel, listLabels, setLabel } from '../../engine/meta/labels.js';
import { getRepo } from '../../engine/meta/repos.js';
import type { Action } from '../main.js';

export function registerLabel(program: Command, action: Action): void {
  const label = program.command('label').description('name bundles');
  label.command('set <name>').description('point a label at a bundle (compare-and-swap)')
    .requiredOption('--repo <repo>', 'repo').requiredOption('--bundle <id>', 'bundle id')
    .action(action('label set', async (ctx, name: string, o: { repo: string; bundle: string }) => {
      await openFormat(ctx.store, false);
      await getRepo(ctx.store, o.repo);
      await getBundle(ctx.store, o.repo, o.bundle);
      const l = await setLabel(ctx.store, o.repo, name, o.bundle, ctx.contributor());
      ctx.done({ label: l }, `label ${name} -> ${o.bundle}`);
    }));
  label.command('get <name>').description('show a label')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label get', async (ctx, name: string, o: { repo: string }) => {
      await openFormat(ctx.store, false);
      await getRepo(ctx.store, o.repo);
      const l = await getLabel(ctx.store, o.repo, name);
      ctx.done({ label: l }, `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`);
    }));
  label.command('list').description('list labels of a repo')
    .requiredOption('--repo <repo>', 'repo')
    .action(action('label list', async (ctx, o: { repo: string }) => {
      await openFormat(ctx.store, false);
      await getRepo(ctx.store, o.repo);
      const labels = await listLabels(ctx.store, o.repo);
      ctx.done({ labels }, labels.map((l) => `${l.name}\t${l.bundle}\t${l.updated}\t${l.contributor.email}`));
    }));
}
