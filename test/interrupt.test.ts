/**
 * SIGINT and SIGTERM through the binary: an interrupted run stops cleanly (exit 130, one line on stderr, a
 * `--json` summary saying so), leaves nothing half done behind, and its rerun completes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, listFiles, summaryOf, tempDir } from './helpers.js';
import { bigSource, filesIn, interruptWhen, restoreTempFiles, stderrLines } from './interrupt-helpers.js';

const t = suite('interrupt: SIGINT/SIGTERM stop a run cleanly');

const MiB = 1024 * 1024;


const upload = (store: string, src: string) =>
  ['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'];

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Common to every interrupted run: exit 130, one stderr line, a summary that says it was interrupted. */
function assertInterrupted(r: { code: number | null; stdout: string; stderr: string }, what: string): void {
  assert.is(r.code, 130, `${what}: ${r.stderr}`);
  assert.is(stderrLines(r).length, 1, `${what}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, /interrupted/);
  const summary = summaryOf(r.stdout);
  assert.is(summary.type, 'summary');
  assert.is(summary.interrupted, true, `${what}: ${r.stdout.split('\n').slice(-2).join('\n')}`);
  assert.is(summary.exitCode, 130);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t(`${signal} mid-upload (local store): exit 130, no staged write, no bundle, fsck clean; the rerun round-trips`, async () => {
    const src = bigSource('int-src', 900);
    const before = describeTree(src);
    const store = path.join(tempDir('int-store'), 's');
    assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
    const staged = () => filesIn(path.join(store, '.tmp'));
    const r = await interruptWhen(upload(store, src),
      (events) => events.some((e) => e.type === 'upload.progress') && staged().length > 0, [signal]);
    assertInterrupted(r, signal);
    assert.equal(staged(), [], 'no staged write left in .tmp/');
    assert.is(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout, '', 'no bundle committed');
    assert.is(cli(['--store', store, 'label', 'list', '--repo', 'r']).stdout, '', 'no label set');
    assert.equal(describeTree(src), before, 'the source is as it was (no file added or changed)');
    const check = cli(['--store', store, 'fsck']);
    assert.is(check.code, 0, check.stdout + check.stderr);

    const rerun = cli(['--store', store, '--json', ...upload(store, src).slice(2)]);
    assert.is(rerun.code, 0, rerun.stderr);
    assert.is(summaryOf(rerun.stdout).bytes, 40 * 3 * MiB + (39 * 40) / 2);
    const dest = path.join(tempDir('int-dest'), 'out');
    assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
    assert.equal(describeTree(dest), describeTree(src));
    assert.is(cli(['--store', store, 'fsck', '--read-data']).code, 0);
  });
}

t('SIGINT mid-download: no partial file under a final name, no temp file, the read log records the interrupted read', async () => {
  const src = bigSource('int-src', 900);
  const store = path.join(tempDir('int-dstore'), 's');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']).code, 0);
  const dest = path.join(tempDir('int-ddest'), 'out');
  const r = await interruptWhen(['--store', store, '--concurrency', '1', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l'],
    (events) => events.some((e) => e.type === 'download.progress') && restoreTempFiles(dest).length > 0, ['SIGINT']);
  assertInterrupted(r, 'download');
  assert.equal(restoreTempFiles(dest), [], 'no temp file left');
  const restored = listFiles(dest);
  assert.ok(restored.length < 40, `interrupted before the end: ${restored.length} files`);
  for (const rel of restored) assert.is(sha(path.join(dest, rel)), sha(path.join(src, rel)), `${rel} is whole`);

  const log = cli(['--store', store, '--json', 'readlog', '--repo', 'r']);
  assert.is(log.code, 0, log.stderr);
  const records = log.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; record?: Record<string, unknown> })
    .filter((l) => l.type === 'record').map((l) => l.record!);
  const last = records[records.length - 1]!;
  assert.is(last.type, 'bundle.download');
  assert.is(last.outcome, 'interrupted');
  assert.is(last.files, restored.length, 'the record counts the files that were restored');

  const rerun = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(rerun.code, 0, rerun.stderr);
  assert.equal(describeTree(dest), describeTree(src));
});

t('a second signal ends the run at once: exit 130, one stderr line, an interrupted summary', async () => {
  const src = bigSource('int-src', 900);
  const store = path.join(tempDir('int-twice'), 's');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const r = await interruptWhen(upload(store, src), (events) => events.some((e) => e.type === 'upload.progress'), ['SIGINT', 'SIGINT'], { gapMs: 5 });
  assertInterrupted(r, 'two signals');
  assert.ok(r.exitMs < 2_000, `exited ${r.exitMs} ms after the second signal`);
  assert.is(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout, '', 'no bundle committed');
});

t('a command that takes no signal ends at once on the first: exit 130 and one line', async () => {
  const store = path.join(tempDir('int-follow'), 's');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const r = await interruptWhen(['--store', store, 'log', '--follow'], (events) => events.length > 0, ['SIGTERM']);
  assert.is(r.code, 130, r.stderr);
  assert.is(stderrLines(r).length, 1, r.stderr);
  assert.is(summaryOf(r.stdout).interrupted, true);
});

t.run();
