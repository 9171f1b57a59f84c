/**
 * Runs every compiled `*.test.js` under uvu and ends with the line CI reads: `N passed, N failed, N skipped`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'uvu/run';
import { ensureTestTools, startServers } from './test-servers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.test.js') && (!only || f.includes(only))).sort();

const toolProblem = ensureTestTools((line) => console.log(`[test tools] ${line}`));
if (toolProblem) console.error(`[test tools] ${toolProblem}`);

// The S3/GCS suites (files named cloud*) need real servers: started here, stopped at the end, never skipped.
const servers = files.some((f) => f.startsWith('cloud'))
  ? await startServers((line) => console.log(`[test servers] ${line}`))
  : undefined;
for (const problem of servers?.problems ?? []) console.error(`[test servers] ${problem}`);
process.env.DATAMOVER_TEST_SERVER_PROBLEMS = (servers?.problems ?? []).join('; ');

let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (captured.length > 100_000) captured = captured.slice(-10_000);
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

try {
  await run(files.map((f) => ({ name: f, file: path.join(here, f) })), { bail: false });
} finally {
  await servers?.stop();
}

// eslint-disable-next-line no-control-regex
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
process.stdout.write = write;
console.log(`${passed} passed, ${total - passed} failed, ${skipped} skipped`);
if (total === 0 || total > passed) process.exitCode = 1;
