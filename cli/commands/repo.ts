import type { Command } from 'commander';
import { usageError } from '../../engine/errors.js';
import { CHUNKERS, openFormat } from '../../engine/meta/format.js';
import { createRepo, getRepo, listRepos } from '../../engine/meta/repos.js';
import { type Storage, readIfExists } from '../../engine/storage/storage.js';
import { keys } from '../../engine/vocab.js';
import type { Action } from '../main.js';

export function registerRepo(program: Command, action: Action): void {
  const repo = program.command('repo').description('create and inspect repos');
  repo.command('create <repo>').description('create a repo')
    .option('--description <text>', 'what the repo holds', '')
    .option('--chunker <kind>', 'for a new store: fixed (4 MiB chunks, the default) or fastcdc (content-defined, ~1 MiB)')
    .action(action('repo create', async (ctx, name: string, o: { description: string; chunker?: string }) => {
      if (o.chunker !== undefined && !(o.chunker in CHUNKERS)) throw usageError(`--chunker ${JSON.stringify(o.chunker)}: expected fixed or fastcdc`);
      await openFormat(ctx.store, true, o.chunker === undefined ? undefined : CHUNKERS[o.chunker as keyof typeof CHUNKERS]);
      const created = await createRepo(ctx.store, name, o.description, ctx.contributor());
      ctx.done({ repo: created }, `created repo ${name}`);
    }));
  repo.command('list').description('list repos')
    .action(action('repo list', async (ctx) => {
      // A new, empty store lists no repos; one holding repos but no format.json is refused (FORMAT), not empty.
      const exists = await readIfExists(ctx.store, keys.format) !== undefined || await holdsAny(ctx.store, keys.reposPrefix);
      if (exists) await openFormat(ctx.store, false);
      const repos = exists ? await listRepos(ctx.store) : [];
      ctx.done({ repos }, repos.map((r) => `${r.name}\t${r.created}\t${r.contributor.email}\t${r.description}`));
    }));
  repo.command('get <repo>').description('show a repo')
    .action(action('repo get', async (ctx, name: string) => {
      await openFormat(ctx.store, false);
      const r = await getRepo(ctx.store, name);
      ctx.done({ repo: r }, [`name: ${r.name}`, `description: ${r.description}`, `created: ${r.created}`,
        `contributor: ${r.contributor.name} <${r.contributor.email}>`]);
    }));
}

async function holdsAny(storage: Storage, prefix: string): Promise<boolean> {
  for await (const _ of storage.list(prefix)) return true;
  return false;
}
