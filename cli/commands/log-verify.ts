/** `log --verify` and `readlog --verify`: walk the hash chains (docs/audit.md); exit 4 naming the first broken link. */
import { type ChainLink, type ChainLog, type ChainReport, checkName, displayName, integrityError, loadVerifier, usageError } from '../../engine/index.js';
import { readKeyFile } from '../context.js';
import type { CommandContext } from '../context.js';

export interface VerifyOptions { repo?: string; publicKey: string[]; tip: string[]; since?: string; follow?: boolean }

const NAMES: Record<ChainLog, string> = { wal: 'WAL', readlog: 'read log' };

/**
 * Verifies `log` of one repo or all: prints each broken link, each note and a line per repo (with its tips, to
 * keep elsewhere), then fails with INTEGRITY naming the first broken link when there is one.
 */
export async function verifyLog(ctx: CommandContext, log: ChainLog, o: VerifyOptions): Promise<void> {
  if (o.since !== undefined || o.follow) throw usageError('--verify walks the whole chain: not with --since or --follow');
  if (o.repo) checkName(o.repo, 'repo');
  const verifiers = o.publicKey.map((file) => loadVerifier(readKeyFile(file, 'public-key'), file));
  if (o.tip.length && !o.repo) throw usageError('--tip: give the --repo whose chain the tip is of');
  const kept = o.tip.map(parseTip);
  const reports = await (await ctx.store()).verifyLog(log, { repo: o.repo, verifiers, kept });
  for (const r of reports) print(ctx, r, verifiers.length > 0);
  const broken = reports.flatMap((r) => r.problems);
  const records = reports.reduce((n, r) => n + r.records, 0);
  if (broken.length) {
    const first = broken[0]!;
    throw integrityError(`${displayName(first.key)}: ${first.detail} (${NAMES[log]} verify: ${broken.length} broken link(s) in ${records} records)`);
  }
  ctx.done({ repos: reports.length, records, problems: 0 }, `${NAMES[log]} verified: ${records} records in ${reports.length} repo(s)`);
}

function print(ctx: CommandContext, r: ChainReport, signed: boolean): void {
  if (ctx.opts.json) {
    process.stdout.write(`${JSON.stringify({ type: 'chain', ...r })}\n`);
    return;
  }
  const lines = [
    ...r.problems.map((p) => `broken\t${displayName(p.key)}\t${p.detail}`),
    ...r.notes.map((n) => `note\t${displayName(n.key)}\t${n.detail}`),
  ];
  const unchained = r.unchainedUpTo ? `; unchained up to ${displayName(r.unchainedUpTo)}` : '';
  const status = r.problems.length ? 'BROKEN' : 'ok';
  lines.push(`${status}\t${r.repo}\t${r.records} records, ${r.chained} chained${signed ? `, ${r.signed} signed` : ''}${unchained}`);
  if (r.tips.length) lines.push(`tips\t${r.repo}\t${r.tips.map((t) => `${t.id}:${t.sha256}`).join(' ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `<id>:<sha256>`, as the `tips` line prints it. USAGE otherwise. */
function parseTip(text: string): ChainLink {
  const m = /^([0-9A-HJKMNP-TV-Z]{26}):([0-9a-f]{64})$/.exec(text);
  if (!m) throw usageError(`--tip ${JSON.stringify(text)}: expected <record id>:<sha256>, as \`--verify\` prints the tips`);
  return { id: m[1]!, sha256: m[2]! };
}
