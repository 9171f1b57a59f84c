import type { Command } from 'commander';
import { type WalRecord, checkName, idAt, parseSince, principalText } from '../../engine/index.js';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';
import type { Action } from '../action.js';
import { verifyLog } from './log-verify.js';

interface LogOptions { repo?: string; since?: string; follow?: boolean; interval?: string; verify?: boolean; publicKey: string[]; tip: string[] }

const FOLLOW_POLL_MS = 2_000;

/**
 * `log` and `readlog`: records print as they are read (one NDJSON line each with --json), oldest first; each names
 * the declared contributor, then the principal the store's credentials vouch for (`-` on records older than that).
 */
export function registerLog(program: Command, action: Action): void {
  program.command('log').description('the write-ahead log: every change, oldest first')
    .option('--repo <repo>', 'only this repo').option('--since <time>', 'from this time (ISO) or age (2h, 7d)')
    .option('--follow', 'keep printing new records as they land')
    .option('--verify', 'walk the hash chain instead: exit 4 naming the first broken link (docs/audit.md)')
    .option('--public-key <file>', 'with --verify: each record must be signed by this ed25519 key, PEM (repeatable)', collect, [])
    .option('--tip <id:sha256>', 'with --verify --repo: a tip printed by an earlier verify and kept elsewhere must still be there (repeatable)', collect, [])
    .action(action('log', async (ctx, o: LogOptions) => {
      if (o.verify || o.publicKey.length || o.tip.length) return verifyLog(ctx, 'wal', o);
      let after = await start(ctx, o);
      let count = 0;
      for (;;) {
        for await (const r of (await ctx.store()).wal({ repo: o.repo, afterId: after })) {
          print(ctx, r, walLine(r));
          after = r.id;
          count++;
        }
        if (!o.follow) break;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      }
      if (ctx.opts.json) ctx.done({ records: count }, []);
    }));
  program.command('readlog').description('the read log: every download, listing and verify, oldest first')
    .option('--repo <repo>', 'only this repo').option('--since <time>', 'from this time (ISO) or age (2h, 7d)')
    .option('--verify', 'walk the hash chain instead: exit 4 naming the first broken link (docs/audit.md)')
    .option('--public-key <file>', 'with --verify: each record must be signed by this ed25519 key, PEM (repeatable)', collect, [])
    .option('--tip <id:sha256>', 'with --verify --repo: a tip printed by an earlier verify and kept elsewhere must still be there (repeatable)', collect, [])
    .action(action('readlog', async (ctx, o: LogOptions) => {
      if (o.verify || o.publicKey.length || o.tip.length) return verifyLog(ctx, 'readlog', o);
      const after = await start(ctx, o);
      let count = 0;
      for await (const r of (await ctx.store()).readLog({ repo: o.repo, afterId: after })) {
        const filter = r.filter ? ` filter=${JSON.stringify(r.filter)}` : '';
        const outcome = r.outcome ? ` ${r.outcome}` : '';
        const run = r.run ? ` run=${r.run}` : '';
        print(ctx, r, `${r.at}\t${r.type}\t${r.repo}\t${r.bundle}\t${r.files} files\t${r.bytes} bytes\t${who(r.contributor)}\t${principalText(r.principal)}${filter}${outcome}${run}`);
        count++;
      }
      if (ctx.opts.json) ctx.done({ records: count }, []);
    }));
}

async function start(ctx: CommandContext, o: LogOptions): Promise<string | undefined> {
  const since = o.since === undefined ? undefined : parseSince(o.since);
  if (o.repo) checkName(o.repo, 'repo');
  if (o.repo) await ctx.repo(o.repo);
  else await (await ctx.store()).format();
  return since === undefined ? undefined : idAt(since);
}

function print(ctx: CommandContext, record: object, line: string): void {
  if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'record', record })}\n`);
  else process.stdout.write(`${line}\n`);
}

const who = (c: { name: string; email: string }) => `${c.name} <${c.email}>`;

/** A commit's inputs and run, as ` inputs=<repo>@<id>,... run=<id>` (empty when it records neither). */
function lineage(r: WalRecord): string {
  const inputs = Array.isArray(r.inputs) ? ` inputs=${(r.inputs as { repo: string; bundle: string }[]).map((i) => `${i.repo}@${i.bundle}`).join(',')}` : '';
  const run = r.run && typeof r.run === 'object' ? ` run=${(r.run as { id: string }).id}` : '';
  return inputs + run;
}

function walLine(r: WalRecord): string {
  const detail = r.type === 'label.set' ? `${r.label} -> ${r.bundle} (was ${r.previous ?? 'unset'})`
    : r.type === 'label.delete' ? `${r.label} deleted (was ${r.previous ?? 'unset'})`
      : r.type === 'bundle.commit' ? `${r.bundle}${r.message ? ` "${r.message}"` : ''}${r.session ? ` (${r.shards} shards of session ${r.session})` : ''}${lineage(r)}`
        : r.type === 'session.start' ? `session ${r.session}${r.message ? ` "${r.message}"` : ''}`
          : r.type === 'bundle.forget' ? `${r.bundle} (${r.reason})`
            : r.type === 'bundle.rewrite' ? `${r.bundle} -> ${r.rewritten}`
              : '';
  return `${r.at}\t${r.type}\t${r.repo}\t${detail}\t${who(r.contributor)}\t${principalText(r.principal)}`;
}
