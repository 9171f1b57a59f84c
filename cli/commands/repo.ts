import type { Command } from 'commander';
import { CHUNKERS, type ChunkerSpec, type CompressionLevel, ZSTD_LEVELS, principalText, usageError } from '../../engine/index.js';
import type { Action } from '../action.js';

export function registerRepo(program: Command, action: Action): void {
  const repo = program.command('repo').description('create and inspect repos');
  repo.command('create <repo>').description('create a repo')
    .option('--description <text>', 'what the repo holds', '')
    .option('--chunker <kind>', 'for a new store: fixed (4 MiB chunks, the default) or fastcdc (content-defined, ~1 MiB)')
    .option('--compression <level>', 'zstd for new chunks of its uploads: off, fast, default or max (default: default; off in a store of format version 1)')
    .action(action('repo create', async (ctx, name: string, o: { description: string; chunker?: string; compression?: string }) => {
      if (o.chunker !== undefined && !(o.chunker in CHUNKERS)) throw usageError(`--chunker ${JSON.stringify(o.chunker)}: expected fixed or fastcdc`);
      if (o.compression !== undefined && !(o.compression in ZSTD_LEVELS)) {
        throw usageError(`--compression ${JSON.stringify(o.compression)}: expected off, fast, default or max`);
      }
      const chunker = o.chunker as ChunkerSpec['kind'] | undefined;
      const compression = o.compression as CompressionLevel | undefined;
      const created = await (await ctx.store()).createRepo(name, { description: o.description, contributor: ctx.contributor(), chunker, compression });
      ctx.done({ repo: created }, `created repo ${name}`);
    }));
  repo.command('list').description('list repos')
    .action(action('repo list', async (ctx) => {
      const repos = await (await ctx.store()).listRepos();
      ctx.done({ repos }, repos.map((r) => `${r.name}\t${r.created}\t${r.contributor.email}\t${r.description}`));
    }));
  repo.command('get <repo>').description('show a repo')
    .action(action('repo get', async (ctx, name: string) => {
      const r = await (await ctx.repo(name)).describe();
      ctx.done({ repo: r }, [`name: ${r.name}`, `description: ${r.description}`, `created: ${r.created}`,
        `contributor: ${r.contributor.name} <${r.contributor.email}>`, `principal: ${principalText(r.principal)}`,
        `compression: ${r.compression ?? 'off'}`]);
    }));
}
