#!/usr/bin/env node
/**
 * The `datamover` command: parses arguments (commander), runs engine calls, renders events, maps errors to
 * exit codes (DESIGN §9). One line on stderr per error, naming what failed.
 */
import './heap.js';
import { Command, CommanderError } from 'commander';
import { DatamoverError, usageError } from '../engine/index.js';
import type { Action } from './action.js';
import { registerBench } from './commands/bench.js';
import { registerBundle } from './commands/bundle.js';
import { registerServe } from './commands/serve.js';
import { registerContext } from './commands/context.js';
import { registerCopy } from './commands/copy.js';
import { registerFsck } from './commands/fsck.js';
import { registerGc } from './commands/gc.js';
import { registerLabel } from './commands/label.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerLog } from './commands/log.js';
import { registerMount } from './commands/mount.js';
import { registerRepo } from './commands/repo.js';
import { registerSession } from './commands/session.js';
import { registerRun } from './commands/run.js';
import { registerLineage } from './commands/lineage.js';
import { CommandContext, type GlobalOptions } from './context.js';
import { EXIT, errorCodeOf, errorLine, exitCodeFor } from './exit-codes.js';
import { handleInterrupts, interruptedSummary, wasInterrupted } from './interrupt.js';
import { ERROR_PREFIX, configureHelp, registerHelp } from './help.js';
import { packageVersion } from './version.js';

let jsonMode = false;

const action: Action = (name, fn) => async (...args) => {
  const cmd = args[args.length - 1] as Command;
  const opts = cmd.optsWithGlobals() as GlobalOptions;
  jsonMode = !!opts.json;
  refuseEmptyValues(cmd);
  const ctx = new CommandContext(name, opts);
  ctx.checkGlobalFlags();
  try {
    await fn(ctx, ...args.slice(0, -1));
  } finally {
    ctx.stopProgress();
  }
};

/**
 * `--label ''` or `--store ''` is a mistake (an unset shell variable, most often), never a way to say "absent":
 * refused with USAGE naming the flag, before anything runs.
 */
const FREE_TEXT = new Set(['--message', '--description']);

function refuseEmptyValues(cmd: Command): void {
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const option of c.options) {
      if (c.getOptionValueSource(option.attributeName()) !== 'cli' || FREE_TEXT.has(option.long ?? '')) continue;
      const value: unknown = c.getOptionValue(option.attributeName());
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === 'string' && v.trim() === '')) {
        throw usageError(`${option.long ?? option.flags}: empty value (leave the flag out to use the default)`);
      }
    }
  }
  // The words of `run`'s command are the command's own: an empty one (`sh -c ''`) may be meant.
  for (const arg of cmd.name() === 'run' ? [] : cmd.args) {
    if (arg.trim() === '') throw usageError(`${cmd.name()}: an argument is empty`);
  }
}

/** Set when stdout failed for another reason than its reader going away (a full disk: `> /dev/full`). */
let stdoutFailure: string | undefined;

/**
 * A reader that goes away (`--json ... | head -1`) must not stop the work half done and must not make a false
 * success: the rest of the output is dropped, the command runs to its end, and its exit code stands. Any other
 * write error (ENOSPC, EIO) drops the output the same way, and the command then fails naming stdout: what it
 * printed (an id, a summary) is lost.
 */
function dropOutputOnceClosed(stream: NodeJS.WriteStream): void {
  const closed = (err: NodeJS.ErrnoException) => {
    const code = err.code ?? 'EIO';
    if (stream === process.stdout && code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') stdoutFailure ??= code;
    stream.write = (() => true) as typeof stream.write;
  };
  stream.on('error', closed);
  // A file as stdout is written synchronously: its errors are thrown by write() itself, not emitted.
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    try {
      return write(...args);
    } catch (err) {
      closed(err as NodeJS.ErrnoException);
      return true;
    }
  }) as typeof stream.write;
}

function buildProgram(): Command {
  const program = configureHelp(new Command('datamover'))
    .description('versioned data at rest in object storage: repos, bundles, labels')
    .option('--store <url>', 'store: a path, file://, s3://bucket/prefix or gs://bucket/prefix (env DATAMOVER_STORE; default $DATAMOVER_HOME/store)')
    .option('--context <name>', 'named store configuration (env DATAMOVER_CONTEXT; see `context list`)')
    .option('--endpoint <url>', 'S3 endpoint for s3:// stores, addressed path-style (env AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)')
    .option('--json', 'NDJSON events on stdout; the last line is a summary object')
    .option('--quiet', 'no progress output')
    .option('--concurrency <n>', 'storage requests in flight')
    .option('--workers <n>', 'hashing worker threads')
    .option('--author <who>', 'contributor as "Name <email>" (env DATAMOVER_AUTHOR)')
    .option('--sign-key <file>', 'sign the WAL and read-log records written with this ed25519 private key, PEM (env DATAMOVER_SIGN_KEY; docs/audit.md)')
    .option('--timeout <duration>', 'cut a storage connection idle this long, also mid-transfer, and retry (S3, GCS uploads; default 60s)')
    .option('--retries <n>', 'retries of a failed storage request (default 9)')
    .option('--retry-deadline <duration>', 'give up retrying one storage request after this long (default 2m)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError(false);
  registerRepo(program, action);
  registerSession(program, registerBundle(program, action), action);
  registerLabel(program, action);
  registerServe(program, action);
  registerLog(program, action);
  registerContext(program, action);
  registerFsck(program, action);
  registerGc(program, action);
  registerCopy(program, action);
  registerBench(program, action);
  registerLifecycle(program, action);
  registerRun(program, action);
  registerLineage(program, action);
  program.command('version').description('print the version')
    .action(action('version', async (ctx) => ctx.done({ version: packageVersion() }, packageVersion())));
  registerHelp(program);
  registerMount(program, action);
  return program;
}

function fail(err: unknown): number {
  // After an interrupt any failure is its consequence: the one line was printed when the signal came.
  if (wasInterrupted()) {
    if (jsonMode) process.stdout.write(interruptedSummary());
    if (process.env.DATAMOVER_DEBUG) console.error(err);
    return EXIT.interrupted;
  }
  const code = err instanceof CommanderError ? EXIT.usage : exitCodeFor(err);
  // commander already printed its one line
  if (!(err instanceof CommanderError)) process.stderr.write(`${ERROR_PREFIX}${errorLine(err)}\n`);
  if (jsonMode) {
    const error = err instanceof CommanderError ? { code: 'USAGE', message: err.message.replace(/^error: /, '') } : { code: errorCodeOf(err), message: errorLine(err) };
    process.stdout.write(`${JSON.stringify({ type: 'summary', ok: false, error, exitCode: code })}\n`);
  }
  if (!(err instanceof DatamoverError) && process.env.DATAMOVER_DEBUG) console.error(err);
  return code;
}

/** Whether `--json` is among the options (before a `--`), before commander has parsed them. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

async function main(argv: string[]): Promise<number> {
  dropOutputOnceClosed(process.stdout);
  dropOutputOnceClosed(process.stderr);
  handleInterrupts(() => jsonMode);
  jsonMode = wantsJson(argv); // for a usage error caught before any action runs
  try {
    await buildProgram().parseAsync(argv);
    const code = typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok; // a command may end partial (3)
    if (stdoutFailure && code === EXIT.ok) {
      process.stderr.write(`datamover: error: cannot write to standard output: ${stdoutFailure} (the command's work was done; its output is lost)\n`);
      return EXIT.failed;
    }
    return code;
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)) return EXIT.ok;
    return fail(err);
  }
}

process.exitCode = await main(process.argv);
