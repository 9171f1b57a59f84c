/**
 * The datamon upload workflows on `bundle upload`: `--files`, `--exclude`, `--exclude-from` (what to take),
 * `--dry-run` (what would be stored, nothing written) and `--remove-source-files [--older-than]` (the move).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type RemoveSources, type Reporter, type ShardSpec, type SourceSelection, type UploadOptions, parseFileList, parsePatternLines,
  usageError,
} from '../../engine/index.js';
import { type CommandContext, duration } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { quoteName } from '../quote.js';

export interface WorkflowOptions {
  files?: string; exclude: string[]; excludeFrom?: string; dryRun?: boolean; removeSourceFiles?: boolean; olderThan?: string;
}

export function addWorkflowOptions(cmd: Command): Command {
  return cmd
    .option('--files <list>', 'upload only the paths in this file (- for stdin), relative to the directory, one a line or NUL-separated; a directory listed is taken whole')
    .option('--exclude <glob>', 'leave out paths matching this glob, and everything under them (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--exclude-from <file>', 'leave out paths matching the globs in this file (one a line; # comments)')
    .option('--dry-run', 'show what would be uploaded and how many bytes are new; write nothing')
    .option('--remove-source-files', 'after the commit, remove each uploaded file that is unchanged since it was hashed')
    .option('--older-than <age>', 'with --remove-source-files: only files last modified longer ago than this (30s, 15m, 12h, 7d)');
}

/** The selection the flags describe. USAGE naming an unreadable list or pattern file. */
export async function sourceSelection(o: WorkflowOptions): Promise<SourceSelection> {
  const exclude = [...o.exclude];
  if (o.excludeFrom !== undefined) exclude.push(...parsePatternLines(readArgFile(o.excludeFrom, '--exclude-from')));
  const files = o.files === undefined ? undefined : parseFileList(o.files === '-' ? await readStdin() : readArgFile(o.files, '--files'));
  return { ...(files ? { files } : {}), ...(exclude.length ? { exclude } : {}) };
}

/** `--remove-source-files [--older-than]` as the engine takes it; USAGE for combinations that cannot work. */
export function removalOf(o: WorkflowOptions, shard: ShardSpec | undefined): RemoveSources | undefined {
  if (o.olderThan !== undefined && !o.removeSourceFiles) throw usageError('--older-than goes with --remove-source-files');
  if (!o.removeSourceFiles) return undefined;
  if (shard) throw usageError('--remove-source-files needs the bundle committed: not on a shard of a split upload');
  return o.olderThan === undefined ? {} : { olderThanMs: duration(o.olderThan, '--older-than', 0)! };
}

/** `--dry-run`: prints what the upload would store. */
export async function runDryRun(ctx: CommandContext, repo: string, req: UploadOptions & { shard?: ShardSpec }): Promise<void> {
  const plan = await (await ctx.repo(repo)).planUpload(req);
  ctx.done({ dryRun: true, ...plan },
    `dry run: would upload ${plan.files} files, ${plan.bytes} bytes, ${plan.newBytes} new (${plan.dedupBytes} already stored, ${plan.unchangedBytes} unchanged since the label's bundle); nothing written`);
  if (plan.skipped.length) process.exitCode = EXIT.partial;
}

/** A reporter that prints each file `--remove-source-files` kept (one stderr line, unless --json) and passes events on. */
export function keptPrinter(ctx: CommandContext): Reporter {
  return (e) => {
    if (e.type === 'source.kept' && !ctx.opts.json) process.stderr.write(`datamover: kept ${quoteName(e.path)}: ${e.reason}\n`);
    ctx.report(e);
  };
}

function readArgFile(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw usageError(`${flag} ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
