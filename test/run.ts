/**
 * Runs every compiled `*.test.js` (or those whose name contains the first argument) and ends with the line CI
 * reads: `N passed, N failed, N skipped`. Files run in parallel lanes (DATAMOVER_TEST_JOBS, default 2: most of a
 * test's time is spent waiting on child processes, disks and servers, not on a core); each file's output is
 * printed whole, with its duration, when it ends.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FileResult, runLanes } from './lanes.js';
import { ensureTestTools, startServers } from './test-servers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.test.js') && (!only || f.includes(only))).sort();
const lanes = Number(process.env.DATAMOVER_TEST_JOBS ?? 2);
if (!(Number.isInteger(lanes) && lanes >= 1 && lanes <= 64)) throw new Error(`DATAMOVER_TEST_JOBS: expected 1 to 64, got ${process.env.DATAMOVER_TEST_JOBS}`);

const toolProblem = ensureTestTools((line) => console.log(`[test tools] ${line}`));
if (toolProblem) console.error(`[test tools] ${toolProblem}`);

// The S3/GCS suites (files named cloud*) need real servers: started here, stopped at the end, never skipped.
const servers = files.some((f) => f.startsWith('cloud'))
  ? await startServers((line) => console.log(`[test servers] ${line}`))
  : undefined;
for (const problem of servers?.problems ?? []) console.error(`[test servers] ${problem}`);
process.env.DATAMOVER_TEST_SERVER_PROBLEMS = (servers?.problems ?? []).join('; ');

const started = Date.now();
let results: FileResult[] = [];
try {
  results = await runLanes(here, files, lanes, (text) => process.stdout.write(text));
} finally {
  await servers?.stop();
}

const sum = (pick: (r: FileResult) => number) => results.reduce((n, r) => n + pick(r), 0);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 8).map((r) => `${r.file} ${(r.ms / 1000).toFixed(0)} s`);
console.log(`\n${files.length} files in ${lanes} lanes, ${((Date.now() - started) / 60_000).toFixed(1)} min; slowest: ${slowest.join(', ')}`);
for (const r of results.filter((x) => x.passed < x.total)) console.log(`failed in ${r.file}${r.crashed ? ` (${r.crashed})` : ''}`);
const total = sum((r) => r.total);
const passed = sum((r) => r.passed);
console.log(`${passed} passed, ${total - passed} failed, ${sum((r) => r.skipped)} skipped`);
if (total === 0 || total > passed) process.exitCode = 1;
