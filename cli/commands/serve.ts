import type { Command } from 'commander';
import { type Reporter, serve } from '../../engine/index.js';
import type { Action } from '../action.js';
import { byteSize } from '../context.js';

interface ServeFlags { listen?: string; token?: string; cacheSize?: string }

/**
 * `serve`: the engine's HTTP server over the store, until SIGINT/SIGTERM. Prints `listening on <url>` once
 * ready (the bound port when asked for port 0); failures of single requests are stderr lines, not exits.
 */
export function registerServe(program: Command, action: Action): void {
  program.command('serve').description('HTTP over the store, read-only: web pages, a JSON API, downloads (README "Serve")')
    .option('--listen <address>', 'host:port, [ipv6]:port or a port; any non-loopback address needs --token', '127.0.0.1:8080')
    .option('--token <token>', 'require this token on every request: bearer, or basic-auth password (env DATAMOVER_SERVE_TOKEN)')
    .option('--cache-size <bytes>', 'verified chunks kept in memory for all requests together (default 256MiB)')
    .action(action('serve', async (ctx, o: ServeFlags) => {
      const report: Reporter = (e) => {
        if (e.type === 'serve.failed' && !ctx.opts.json) {
          process.stderr.write(`datamover: warning: ${e.method} ${e.target} from ${e.client}: ${e.status} ${e.code}: ${e.error}\n`);
        }
        ctx.report(e);
      };
      const server = await serve({
        store: await ctx.store(), listen: o.listen, token: o.token ?? (process.env.DATAMOVER_SERVE_TOKEN || undefined),
        contributor: ctx.contributor(), reporter: report, signal: ctx.signal, cacheBytes: byteSize(o.cacheSize, '--cache-size'),
      });
      if (!ctx.opts.json) process.stdout.write(`listening on ${server.url}\n`);
      await server.stopped;
      ctx.done({ url: server.url }, []);
    }));
}
