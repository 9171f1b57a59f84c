/** `bench`: storage throughput for object sizes and concurrencies (DESIGN §9). */
import type { Command } from 'commander';
import { type BenchOp, type BenchRow, usageError } from '../../engine/index.js';
import { FLAG_MAXIMA, boundedInt, byteSize } from '../context.js';
import type { Action } from '../action.js';

const OPS: BenchOp[] = ['put', 'get', 'list', 'delete'];
/** Beyond these a typo would fill the bucket or memory: S3's largest single object, a million objects a row. */
const MAX_SIZE = 5 * 2 ** 30;
const MAX_OBJECTS = 1_000_000;

export function registerBench(program: Command, action: Action): void {
  program.command('bench').description('measure the store: PUT/GET/LIST/DELETE objects/s, MB/s and latency percentiles (writes and removes bench/<id>/)')
    .option('--sizes <list>', 'object sizes', '4KiB,1MiB,64MiB')
    .option('--concurrencies <list>', 'requests in flight, each measured in turn', '1,8,32')
    .option('--objects <n>', 'objects per size and concurrency (default: 256 MiB worth, 4 to 500)')
    .option('--ops <list>', 'operations to report', OPS.join(','))
    .action(action('bench', async (ctx, o: { sizes: string; concurrencies: string; objects?: string; ops: string }) => {
      const sizes = o.sizes.split(',').map((s) => byteSize(s, '--sizes')!);
      const concurrencies = o.concurrencies.split(',').map((c) => boundedInt(c, '--concurrencies', FLAG_MAXIMA.concurrency)!);
      const ops = o.ops.split(',').map((op) => {
        if (!OPS.includes(op as BenchOp)) throw usageError(`--ops: unknown operation ${JSON.stringify(op)} (use ${OPS.join(', ')})`);
        return op as BenchOp;
      });
      if (sizes.some((s) => s < 1 || s > MAX_SIZE)) throw usageError('--sizes: every size must be from 1 byte to 5GiB');
      if (!ctx.opts.json && !ctx.opts.quiet) process.stdout.write(`${header()}\n`);
      const store = await ctx.store();
      const rows = await store.bench({
        sizes, concurrencies, objects: boundedInt(o.objects, '--objects', MAX_OBJECTS), ops,
        onRow: (row) => {
          if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'bench.row', ...row })}\n`);
          else if (!ctx.opts.quiet) process.stdout.write(`${line(row)}\n`);
        },
      });
      ctx.done({ store: store.url, rows }, []);
    }));
}

const COLUMNS = ['op', 'size', 'conc', 'objects', 'MB', 'seconds', 'obj/s', 'MB/s', 'p50 ms', 'p90 ms', 'p99 ms'];
const header = () => COLUMNS.join('\t');

function line(r: BenchRow): string {
  return [r.op, human(r.size), r.concurrency, r.objects, (r.bytes / 1e6).toFixed(1), r.seconds, r.objectsPerSec, r.mbPerSec, r.p50, r.p90, r.p99].join('\t');
}

function human(bytes: number): string {
  for (const [unit, scale] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}B`;
}
