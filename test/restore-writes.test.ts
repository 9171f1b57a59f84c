import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { syncFileSystem } from '../engine/download/sync-fs.js';
import { type WritePiece, type WriteTask, writeFiles } from '../workers/write-files.js';
import { cli, describeTree, makeMixedTree, seededBytes, tempDir } from './helpers.js';
import { textBytes } from '../bench/text-corpus.js';
import { compressChunk } from '../workers/codec.js';

const t = suite('restore writes: the write worker (no pool) and --sync');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A task whose buffer holds `blobs` back to back; `pieces` say which blob goes where. */
function taskOf(blobs: Buffer[], pieces: Omit<WritePiece, 'start' | 'length' | 'hash'>[], files: WriteTask['files']): WriteTask {
  const all = Buffer.concat(blobs);
  const buffer = new ArrayBuffer(all.length + 100);
  new Uint8Array(buffer).set(all);
  let start = 0;
  const placed = blobs.map((b) => { const p = { start, length: b.length, hash: sha(b) }; start += b.length; return p; });
  return { buffer, length: all.length, pack: 'pack00000000', pieces: pieces.map((p, i) => ({ ...placed[i]!, ...p })), files };
}

t('whole files are written, given mode and mtime, renamed; the buffer comes back', async () => {
  const dir = tempDir('wf');
  const [a, b] = [seededBytes(1, 5000), seededBytes(2, 7000)];
  const finish = (name: string, mode: number) => ({ abs: path.join(dir, name), mode, mtimeNs: 1_600_000_000_000_000_000n, fsync: true });
  const task = taskOf([a, b], [{ file: 0, fileOffset: 0 }, { file: 1, fileOffset: 0 }], [
    { tmp: path.join(dir, '.a.tmp'), finish: finish('a', 0o640) }, { tmp: path.join(dir, '.b.tmp'), finish: finish('b', 0o600) },
  ]);
  const out = await writeFiles(task);
  assert.equal(out.finished, [0, 1]);
  assert.is(out.bytesWritten, 12_000);
  assert.is(out.buffer, task.buffer);
  assert.equal(readFileSync(path.join(dir, 'a')), a);
  assert.equal(readFileSync(path.join(dir, 'b')), b);
  assert.is(statSync(path.join(dir, 'a')).mode & 0o7777, 0o640);
  assert.is(statSync(path.join(dir, 'b')).mtimeMs, 1_600_000_000_000);
  assert.equal(readdirSync(dir).sort(), ['a', 'b']);
});

t('a file in two tasks: the first leaves its temp file, the second (with finish) completes it', async () => {
  const dir = tempDir('wf2');
  const [head, tail] = [seededBytes(3, 4096), seededBytes(4, 100)];
  const tmp = path.join(dir, '.f.tmp');
  // The tail lands first: writes go to their offsets, in any order.
  assert.equal((await writeFiles(taskOf([tail], [{ file: 0, fileOffset: 4096 }], [{ tmp }]))).finished, []);
  assert.ok(existsSync(tmp) && !existsSync(path.join(dir, 'f')));
  const second = await writeFiles(taskOf([head], [{ file: 0, fileOffset: 0 }], [{ tmp, finish: { abs: path.join(dir, 'f'), mode: 0o644, mtimeNs: 0n, fsync: false } }]));
  assert.equal(second.finished, [0]);
  assert.equal(readFileSync(path.join(dir, 'f')), Buffer.concat([head, tail]));
});

t('a damaged chunk is a value: its file is never written, the other file is', async () => {
  const dir = tempDir('wf3');
  const [good, bad] = [seededBytes(5, 1000), seededBytes(6, 1000)];
  const task = taskOf([good, bad], [{ file: 0, fileOffset: 0 }, { file: 1, fileOffset: 0 }], [
    { tmp: path.join(dir, '.good.tmp'), finish: { abs: path.join(dir, 'good'), mode: 0o644, mtimeNs: 0n, fsync: false } },
    { tmp: path.join(dir, '.bad.tmp'), finish: { abs: path.join(dir, 'bad'), mode: 0o644, mtimeNs: 0n, fsync: false } },
  ]);
  new Uint8Array(task.buffer)[1500] ^= 0xff;
  const out = await writeFiles(task);
  assert.equal(out.damaged, [{ piece: 1, damage: 'does not match its hash' }]);
  assert.equal(out.finished, [0]);
  assert.equal(readdirSync(dir), ['good']);
});

t('compressed pieces are decoded as they are written; a frame that does not decode spoils only its file, counted as not written', async () => {
  const dir = tempDir('wf-z');
  const texts = [textBytes('log', 21, 300_000), textBytes('json', 22, 200_000), textBytes('csv', 23, 100_000)];
  const frames = texts.map((text) => compressChunk(text, 3)!);
  const finish = (name: string) => ({ abs: path.join(dir, name), mode: 0o644, mtimeNs: 0n, fsync: false });
  const task = taskOf(frames, [{ file: 0, fileOffset: 0 }, { file: 1, fileOffset: 0 }, { file: 1, fileOffset: texts[1]!.length }], [
    { tmp: path.join(dir, '.a.tmp'), finish: finish('a') }, { tmp: path.join(dir, '.b.tmp'), finish: finish('b') },
  ]);
  task.pieces = task.pieces.map((piece, i) => ({ ...piece, codec: 'zstd', hash: sha(texts[i]!) }));
  new Uint8Array(task.buffer)[frames[0]!.length + frames[1]!.length + 20] ^= 0xff; // b's second frame
  const out = await writeFiles(task);
  assert.is(out.damaged.length, 1);
  assert.is(out.damaged[0]!.piece, 2);
  assert.equal(out.finished, [0]);
  assert.is(out.bytesWritten, texts[0]!.length, 'b\'s first piece was written, then b was given up');
  assert.equal(readdirSync(dir), ['a']);
  assert.ok(readFileSync(path.join(dir, 'a')).equals(texts[0]!));
});

t('bytes missing from a short read are reported as truncation', async () => {
  const dir = tempDir('wf4');
  const blob = seededBytes(7, 2000);
  const task = { ...taskOf([blob], [{ file: 0, fileOffset: 0 }], [{ tmp: path.join(dir, '.x'), finish: { abs: path.join(dir, 'x'), mode: 0o644, mtimeNs: 0n, fsync: false } }]), length: 1500 };
  assert.equal((await writeFiles(task)).damaged, [{ piece: 0, damage: 'is in pack pack00000000, which is truncated' }]);
  assert.equal(readdirSync(dir), []);
});

t('an I/O failure is a value naming the file; files finished before it stay, no temp file is left', async () => {
  const dir = tempDir('wf5');
  const [a, b] = [seededBytes(8, 10), seededBytes(9, 10)];
  const task = taskOf([a, b], [{ file: 0, fileOffset: 0 }, { file: 1, fileOffset: 0 }], [
    { tmp: path.join(dir, '.a.tmp'), finish: { abs: path.join(dir, 'a'), mode: 0o644, mtimeNs: 0n, fsync: false } },
    { tmp: path.join(dir, 'missing-dir', '.b.tmp'), finish: { abs: path.join(dir, 'missing-dir', 'b'), mode: 0o644, mtimeNs: 0n, fsync: false } },
  ]);
  const out = await writeFiles(task);
  assert.equal(out.failure, { file: 1, code: 'ENOENT', message: out.failure?.message ?? '' });
  assert.equal(readdirSync(dir), ['.a.tmp'], 'a was written, not yet finished when b failed: the restorer removes unfinished temp files');
});

t('--sync end, file and none all round-trip byte for byte; a bad value exits 2 naming the flag', () => {
  const store = path.join(tempDir('sync-store'), 's');
  const src = tempDir('sync-src');
  makeMixedTree(src, 120);
  // Longer than one read (16 MiB): its chunks reach the workers in several tasks and it is finished last.
  writeFileSync(path.join(src, 'big/spans-reads.bin'), seededBytes(11, 21 * 1024 * 1024 + 7));
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']).code, 0);
  for (const mode of ['end', 'file', 'none']) {
    const dest = path.join(tempDir(`sync-${mode}`), 'out');
    const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--sync', mode]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(describeTree(dest), describeTree(src), `--sync ${mode}`);
  }
  const bad = cli(['--store', store, 'bundle', 'download', tempDir('sync-bad'), '--repo', 'r', '--label', 'l', '--sync', 'later']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr.trim(), /^datamover: .*--sync "later": expected end, file or none$/);
});

t('syncFileSystem: fails with IO naming the directory when no sync command can run', async () => {
  const dir = tempDir('nosync');
  await syncFileSystem(dir);
  const path0 = process.env.PATH;
  process.env.PATH = tempDir('empty-path');
  try {
    await syncFileSystem(dir);
    assert.unreachable('sync ran without a sync command');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'IO');
    assert.ok((err as Error).message.startsWith(`${dir}: `), (err as Error).message);
  } finally {
    process.env.PATH = path0;
  }
});

t.run();
