/** The benchmark harness runs end to end in smoke mode (tiny data, one run) and writes a complete table. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';

const t = suite('bench: the harness in smoke mode');

t('every data set and scenario gets a row with a time, RSS and a ratio per peer that ran', () => {
  const out = path.join(tempDir('bench-out'), 'RESULTS.md');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist/bench/run.js'), '--smoke', '--data', tempDir('bench-data'), '--out', out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const table = readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| data'));
  const scenarios = table.map((l) => l.split(' | ').slice(0, 2).join(' / ').slice(2));
  for (const expected of [
    '1 × 0.02 GiB file / first upload', '1 × 0.02 GiB file / unchanged rerun (file cache)', '1 × 0.02 GiB file / 1% changed rerun',
    '1 × 0.02 GiB file / full download', '1 × 0.02 GiB file / identical copy added', '300 × 64 KiB files / first upload',
    '300 × 64 KiB files / subset download (d7/, 1%)', '2000 × 4 KiB files / unchanged rerun (file cache)',
    '200 × 64 KiB files, half a copy of the other half / first upload',
    '200 × 1 KiB files / first upload', '1000 × 1 KiB files / unchanged rerun (file cache)', '1000 × 1 KiB files / full download',
    '1 × 0.02 GiB file / sequential read through HTTP (serve, curl)', '1 × 0.02 GiB file / first byte of a 1 MiB range from the middle (HTTP)',
  ]) assert.ok(scenarios.includes(expected), `missing row ${expected}: ${scenarios.join('; ')}`);
  for (const line of table) {
    const cells = line.split(' | ');
    assert.match(cells[2]!, /^\d+\.\d\d s$/, line);
    assert.match(cells[4]!, /^(\d+%|–)$/, line);
    assert.match(cells[5]!, /^\d+ MiB$/, line);
    for (const peer of cells[6]!.split('; ').filter((p) => p !== '–')) assert.match(peer, /\d+\.\d\d s \(CPU (\d+%|–)\) → \*\*\d+\.\d\d×\*\*$/, line);
  }
  assert.ok(table.some((l) => l.includes('cp -r')), 'cp -r, the floor, always runs');
  assert.match(readFileSync(out, 'utf8'), /% of the ceiling|\*\*\d+\.\d\d%\*\* extra/);
  assert.match(readFileSync(out, 'utf8'), /Ceilings measured in this run: read [\d.]+, SHA-256 [\d.]+ × \d+ cores, durable write [\d.]+ GiB\/s; bound by /);
});

t.run();
