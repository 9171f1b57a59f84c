import type { Command } from 'commander';
import { DatamoverError, openStore, parseContributor, usageError } from '../../engine/index.js';
import { type ContextConfig, builtinDefault, checkContextName, loadConfig, resolveContext, saveConfig } from '../config.js';
import type { Action } from '../action.js';

interface CreateOptions { blobsStore?: string; walStore?: string; readlogStore?: string; force?: boolean }

/** `context create|list|get|use`: named store configurations kept in $DATAMOVER_HOME/config.json. */
export function registerContext(program: Command, action: Action): void {
  const context = program.command('context').description('named store configurations ($DATAMOVER_HOME/config.json)');
  context.command('create <name>').description('create a context from --store [--endpoint] [--author], one store or one per role')
    // --store, --endpoint and --author are the global options, kept in the context instead of used now.
    .option('--blobs-store <url>', 'store for packs and indexes').option('--wal-store <url>', 'store for the write-ahead log')
    .option('--readlog-store <url>', 'store for the read log').option('--force', 'replace an existing context of this name')
    .action(action('context create', async (ctx, name: string, flags: CreateOptions) => {
      checkContextName(name);
      const { store, endpoint, author } = ctx.opts;
      if (!store) throw usageError('context create: --store <url> is required');
      const o = { ...flags, store, endpoint, author };
      if (o.author) parseContributor(o.author, '--author');
      const stores = { blobs: o.blobsStore, wal: o.walStore, readlog: o.readlogStore };
      for (const url of [o.store, ...Object.values(stores)]) if (url) await openStore({ url, endpoint: o.endpoint }); // USAGE on a bad URL
      const config = loadConfig();
      if (config.contexts[name] && !o.force) throw new DatamoverError('ALREADY_EXISTS', `context ${name} already exists (--force replaces it)`);
      const roles = Object.fromEntries(Object.entries(stores).filter(([, v]) => v)) as ContextConfig['stores'];
      const created: ContextConfig = {
        store: o.store, ...(o.endpoint ? { endpoint: o.endpoint } : {}), ...(o.author ? { author: o.author } : {}),
        ...(roles && Object.keys(roles).length ? { stores: roles } : {}),
      };
      config.contexts[name] = created;
      saveConfig(config);
      ctx.done({ context: { name, ...created } }, `created context ${name}`);
    }));
  context.command('list').description('list contexts; * marks the current one')
    .action(action('context list', async (ctx) => {
      const config = loadConfig();
      const current = resolveContext().name;
      const all = { default: builtinDefault(), ...config.contexts };
      const rows = Object.entries(all).map(([name, c]) => ({ name, current: name === current, ...c }));
      ctx.done({ contexts: rows }, rows.map((r) => `${r.current ? '*' : ' '} ${r.name}\t${r.store}`));
    }));
  context.command('get [name]').description('show a context (default: the current one)')
    .action(action('context get', async (ctx, name?: string) => {
      const { name: resolved, context: c } = resolveContext(name ?? ctx.opts.context);
      const roles = Object.entries(c.stores ?? {}).map(([role, url]) => `${role}: ${url}`);
      ctx.done({ context: { name: resolved, ...c } }, [`name: ${resolved}`, `store: ${c.store}`, ...(c.endpoint ? [`endpoint: ${c.endpoint}`] : []), ...(c.author ? [`author: ${c.author}`] : []), ...roles]);
    }));
  context.command('use <name>').description('make a context the current one')
    .action(action('context use', async (ctx, name: string) => {
      checkContextName(name);
      const config = loadConfig();
      if (!config.contexts[name] && name !== 'default') throw new DatamoverError('NOT_FOUND', `context ${name} not found (see \`datamover context list\`)`);
      config.current = name;
      saveConfig(config);
      ctx.done({ current: name }, `using context ${name}`);
    }));
}
