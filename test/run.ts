/**
 * Runs every compiled `*.test.js` under uvu and ends with the line CI reads: `N passed, N failed, N skipped`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'uvu/run';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const files = readdirSync(here).filter((f) => f.endsWith('.test.js') && (!only || f.includes(only))).sort();

let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  if (captured.length > 100_000) captured = captured.slice(-10_000);
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

await run(files.map((f) => ({ name: f, file: path.join(here, f) })), { bail: false });

// eslint-disable-next-line no-control-regex
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const num = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
const total = num('Total');
const passed = num('Passed');
const skipped = num('Skipped');
process.stdout.write = write;
console.log(`${passed} passed, ${total - passed - skipped} failed, ${skipped} skipped`);
if (total === 0) process.exitCode = 1;
