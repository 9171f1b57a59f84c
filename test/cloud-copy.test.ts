/** `datamover copy` between local, s3:// (Ceph RGW) and gs:// (GCS emulator + proxy), through the binary. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cloudEnv, freshGcs, freshGcsUrl, freshS3Url, openMultipartUploads } from './cloud-stores.js';
import { cli, listFiles, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cloud: copy between local, s3 and gs');

/** path -> sha256 of every regular file under `root`. */
function contents(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of listFiles(root)) out[rel] = createHash('sha256').update(readFileSync(path.join(root, rel))).digest('hex');
  return out;
}

function copy(...args: string[]) {
  const r = cli(['--json', 'copy', ...args], cloudEnv());
  const summary = r.stdout.trim() ? summaryOf(r.stdout) : {};
  return { ...r, summary };
}

t('local -> s3 -> gs -> local round-trips byte for byte (a 40 MiB multipart object included); every rerun copies nothing', async () => {
  const src = tempDir('copy-src');
  for (let i = 0; i < 300; i++) writeFile(src, `d${i % 7}/f${i}.bin`, seededBytes(i, 1000 + 37 * i));
  writeFile(src, 'empty', '');
  writeFile(src, 'ünïcödé/名前.txt', 'unicode');
  writeFile(src, 'big/forty.bin', seededBytes(4040, 40 * 1024 * 1024 + 5));
  const s3 = await freshS3Url('copy');
  const gs = freshGcsUrl('copy');
  const back = path.join(tempDir('copy-back'), 'out');
  for (const [from, to] of [[src, s3], [s3, gs], [gs, back]] as const) {
    const first = copy(from, to);
    assert.is(first.code, 0, `${from} -> ${to}: ${first.stderr}`);
    assert.is(first.summary.copied, 303, `${from} -> ${to}`);
    const again = copy(from, to);
    assert.is(again.code, 0, again.stderr);
    assert.is(again.summary.copied, 0, `rerun ${from} -> ${to} copied ${again.summary.copied}`);
    assert.is(again.summary.skipped, 303);
  }
  assert.equal(contents(back), contents(src));
  assert.not.ok(existsSync(path.join(back, '.tmp')), 'no staging directory left in the destination');
  assert.equal(await openMultipartUploads(s3), []);
});

t('--dry-run changes nothing; --delete removes extras, but never when the source lists nothing', async () => {
  const src = tempDir('copy-del-src');
  for (let i = 0; i < 5; i++) writeFile(src, `f${i}`, `file ${i}`);
  const s3 = await freshS3Url('copydel');
  assert.is(copy(src, s3).code, 0);
  const extra = tempDir('copy-extra');
  writeFile(extra, 'stale.txt', 'stale');
  assert.is(copy(extra, s3).code, 0);
  const dry = copy('--dry-run', '--delete', src, s3);
  assert.is(dry.code, 0, dry.stderr);
  assert.is(dry.summary.deleted, 1);
  const listing = () => { const d = path.join(tempDir('copy-list'), 'o'); assert.is(copy(s3, d).code, 0); return listFiles(d); };
  assert.equal(listing(), ['f0', 'f1', 'f2', 'f3', 'f4', 'stale.txt'], 'the dry run deleted nothing');
  const empty = tempDir('copy-empty');
  const refused = copy('--delete', empty, s3);
  assert.is(refused.code, 3);
  assert.match(refused.stderr, /--delete refused: .* lists no objects/);
  assert.equal(listing(), ['f0', 'f1', 'f2', 'f3', 'f4', 'stale.txt']);
  const real = copy('--delete', src, s3);
  assert.is(real.code, 0, real.stderr);
  assert.equal(listing(), ['f0', 'f1', 'f2', 'f3', 'f4']);
});

t('a source object that does not match its recorded SHA-256 fails the copy (exit 4, naming it); nothing lands under its name', async () => {
  const gcs = freshGcs('copybad');
  await gcs.put('good.txt', Buffer.from('good'));
  await gcs.put('bad.txt', Buffer.from('tampered'), { sha256: createHash('sha256').update('original').digest('hex') });
  const dest = path.join(tempDir('copy-bad'), 'out');
  const r = cli(['--concurrency', '1', 'copy', gcs.url, dest], cloudEnv());
  assert.is(r.code, 4, r.stderr);
  assert.match(r.stderr, /bad\.txt: content does not match its recorded SHA-256/);
  assert.not.ok(existsSync(path.join(dest, 'bad.txt')));
});

t('copy usage: a missing local source and the same place twice are one-line errors', () => {
  const missing = cli(['copy', path.join(tempDir('copy-none'), 'nope'), tempDir('copy-x')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /source .*nope is not a directory/);
  const dir = tempDir('copy-same');
  const same = cli(['copy', dir, `${dir}/`]);
  assert.is(same.code, 2);
  assert.match(same.stderr, /are the same place/);
});

t.run();
