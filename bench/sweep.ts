/**
 * `npm run bench:sweep [-- --quick]`: the figures behind the upload defaults. Each tuning knob is varied alone
 * around the defaults, on the big file and the 64 KiB-file tree, first upload to the local store; the median of
 * 3 runs (1 with --quick). Writes bench/DEFAULTS.md.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bigFile, smallFiles } from './data.js';
import { type Measure, cli, repoRoot, timed } from './measure.js';

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : 3;
const work = path.join(os.tmpdir(), `datamover-sweep-${process.pid}`);
const dataRoot = path.join(repoRoot, 'bench', 'data');
const env = { DATAMOVER_HOME: path.join(work, 'home'), DATAMOVER_AUTHOR: 'Bench <bench@example.com>' };

/** Each knob: its flag, the default, and the values tried. */
const knobs: [string, string, string[]][] = [
  ['--workers', String(os.availableParallelism()), ['1', String(os.availableParallelism()), String(os.availableParallelism() + 1)]],
  ['--budget', '128MiB', ['64MiB', '128MiB', '256MiB']],
  ['--pack-size', '64MiB', ['16MiB', '64MiB', '128MiB']],
  ['--concurrency', '4', ['2', '4', '8']],
];

function upload(dir: string, flag: string, value: string): Measure {
  const out: Measure[] = [];
  const store = path.join(work, 'store');
  for (let i = 0; i < runs; i++) {
    rmSync(store, { recursive: true, force: true });
    timed(process.execPath, [cli, '--store', store, 'repo', 'create', 'b'], env);
    const global = flag === '--workers' || flag === '--concurrency' ? [flag, value] : [];
    const local = global.length ? [] : [flag, value];
    out.push(timed(process.execPath, [cli, '--store', store, '--quiet', ...global, 'bundle', 'upload', dir, '--repo', 'b', ...local], env));
  }
  return out.sort((a, b) => a.seconds - b.seconds)[Math.floor(out.length / 2)]!;
}

mkdirSync(work, { recursive: true });
const sets = [bigFile(dataRoot, quick ? 512 * 2 ** 20 : 2 * 2 ** 30), smallFiles(dataRoot, quick ? 5_000 : 20_000, 64 * 1024)];
const lines = [
  '# Upload defaults and the measurements behind them', '',
  `${new Date().toISOString().slice(0, 10)}, ${os.availableParallelism()} cores, Node ${process.version}, first upload to the local store, median of ${runs}. Each knob varied alone; **bold** is the default.`, '',
  `| knob | value | ${sets.map((s) => `${s.name}: time, peak RSS`).join(' | ')} |`, `|---|---|${sets.map(() => '---:|').join('')}`,
];
console.log(lines.slice(-2).join('\n'));
try {
  for (const [flag, def, values] of knobs) {
    for (const value of values) {
      const cells = sets.map((s) => { const m = upload(s.dir, flag, value); return `${m.seconds.toFixed(2)} s, ${m.rssMiB.toFixed(0)} MiB`; });
      const line = `| ${flag} | ${value === def ? `**${value}**` : value} | ${cells.join(' | ')} |`;
      console.log(line);
      lines.push(line);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
writeFileSync(path.join(repoRoot, 'bench', quick ? 'DEFAULTS-quick.md' : 'DEFAULTS.md'), `${lines.join('\n')}\n`);
