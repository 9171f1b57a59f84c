/**
 * `bundle update` and download must never lose or change what is not theirs: files never in either bundle and
 * user edits are kept (and reported, exit 3); an inode shared through a hard link with a file outside the
 * destination is never changed in place, nor linked to.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, tempDir, writeFile } from './helpers.js';

const t = suite('bundle update / download: safety of what is not the bundle\'s');

function setup() {
  const root = tempDir('u2');
  const store = path.join(root, 'store');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const upload = (dir: string, label: string) => {
    const r = run('--quiet', 'bundle', 'upload', dir, '--repo', 'r', '--label', label);
    assert.is(r.code, 0, r.stderr);
  };
  return { root, run, upload };
}

t('update keeps a file never in either bundle (and its directory), exit 3 naming it', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't3');
  writeFile(src, 'sub/a', 'a');
  writeFile(src, 'keep', 'k');
  upload(src, 't3a');
  rmSync(path.join(src, 'sub'), { recursive: true });
  upload(src, 't3b');
  const dest = path.join(root, 'o3');
  assert.is(run('--quiet', 'bundle', 'download', dest, '--repo', 'r', '--label', 't3a').code, 0);
  writeFileSync(path.join(dest, 'sub', 'mynotes'), 'mine');
  const up = run('bundle', 'update', dest, '--repo', 'r', '--label', 't3b', '--from', 't3a');
  assert.is(up.code, 3, up.stdout + up.stderr);
  assert.is(readFileSync(path.join(dest, 'sub', 'mynotes'), 'utf8'), 'mine');
  assert.ok(!existsSync(path.join(dest, 'sub', 'a')), 'the unchanged file of A is removed');
  assert.is(up.stderr.trim().split('\n').filter((l) => l.includes('warning')).length, 1, up.stderr);
  assert.match(up.stderr, /sub/);
});

t('update keeps a file the user edited after the download, exit 3; an untouched one is removed', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't6');
  writeFile(src, 'edited', 'one');
  writeFile(src, 'plain', 'two');
  writeFile(src, 'stay', 's');
  upload(src, 'a');
  rmSync(path.join(src, 'edited'));
  rmSync(path.join(src, 'plain'));
  upload(src, 'b');
  const dest = path.join(root, 'o6');
  assert.is(run('--quiet', 'bundle', 'download', dest, '--repo', 'r', '--label', 'a').code, 0);
  writeFileSync(path.join(dest, 'edited'), 'my edit');
  const up = run('bundle', 'update', dest, '--repo', 'r', '--label', 'b', '--from', 'a');
  assert.is(up.code, 3, up.stdout + up.stderr);
  assert.is(readFileSync(path.join(dest, 'edited'), 'utf8'), 'my edit');
  assert.ok(!existsSync(path.join(dest, 'plain')));
  assert.match(up.stderr, /edited/);
  const again = run('bundle', 'update', dest, '--repo', 'r', '--label', 'b', '--from', 'b');
  assert.is(again.code, 0, again.stderr);
});

t('update never fixes mode or mtime of an inode hard-linked to a file outside: it rewrites the file', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't4');
  writeFile(src, 'f', 'z\n');
  upload(src, 't4a');
  chmodSync(path.join(src, 'f'), 0o700);
  utimesSync(path.join(src, 'f'), new Date('2011-01-01'), new Date('2011-01-01'));
  upload(src, 't4b');
  const dest = path.join(root, 'o4');
  assert.is(run('--quiet', 'bundle', 'download', dest, '--repo', 'r', '--label', 't4a').code, 0);
  const victim = path.join(root, 'out4', 'victim');
  mkdirSync(path.dirname(victim));
  writeFileSync(victim, 'victim\n');
  chmodSync(victim, 0o644);
  utimesSync(victim, new Date('2001-01-01'), new Date('2001-01-01'));
  const before = statSync(victim);
  rmSync(path.join(dest, 'f'));
  linkSync(victim, path.join(dest, 'f'));
  const up = run('bundle', 'update', dest, '--repo', 'r', '--label', 't4b', '--from', 't4a');
  assert.is(up.code, 0, up.stdout + up.stderr);
  const after = statSync(victim);
  assert.is(after.mode, before.mode);
  assert.is(after.mtimeMs, before.mtimeMs);
  assert.is(after.nlink, 1);
  assert.is(readFileSync(victim, 'utf8'), 'victim\n');
  assert.is(readFileSync(path.join(dest, 'f'), 'utf8'), 'z\n');
  assert.is(statSync(path.join(dest, 'f')).mode & 0o7777, 0o700);
});

t('update never fixes attributes of a group member linked outside, even with no more links than the group', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't8');
  writeFile(src, 'h1', 'h\n');
  linkSync(path.join(src, 'h1'), path.join(src, 'h2'));
  upload(src, 'a');
  chmodSync(path.join(src, 'h1'), 0o700);
  utimesSync(path.join(src, 'h1'), new Date('2011-01-01'), new Date('2011-01-01'));
  upload(src, 'b');
  const dest = path.join(root, 'o8');
  assert.is(run('--quiet', 'bundle', 'download', dest, '--repo', 'r', '--label', 'a').code, 0);
  rmSync(path.join(dest, 'h2'));
  const victim = path.join(root, 'victim8');
  linkSync(path.join(dest, 'h1'), victim); // two links, as many as the group has members: one of them outside
  const before = statSync(victim);
  const up = run('bundle', 'update', dest, '--repo', 'r', '--label', 'b', '--from', 'a');
  assert.is(up.code, 0, up.stdout + up.stderr);
  const after = statSync(victim);
  assert.is(after.mode, before.mode);
  assert.is(after.mtimeMs, before.mtimeMs);
  assert.is(after.nlink, 1);
  const [h1, h2] = [statSync(path.join(dest, 'h1')), statSync(path.join(dest, 'h2'))];
  assert.ok(h1.ino === h2.ino && h1.nlink === 2 && (h1.mode & 0o7777) === 0o700);
});

t('download never links a hard-link group to a destination file shared with an outside file', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't5');
  writeFile(src, 'h1', 'h\n');
  const when = new Date('2015-01-01');
  utimesSync(path.join(src, 'h1'), when, when);
  linkSync(path.join(src, 'h1'), path.join(src, 'h2'));
  upload(src, 't5');
  const dest = path.join(root, 'o5');
  mkdirSync(dest);
  const victim = path.join(root, 'out5', 'victim');
  mkdirSync(path.dirname(victim));
  writeFileSync(victim, 'h\n');
  const st = statSync(path.join(src, 'h1'));
  utimesSync(victim, when, when);
  chmodSync(victim, st.mode & 0o7777);
  linkSync(victim, path.join(dest, 'h1'));
  const down = run('bundle', 'download', dest, '--repo', 'r', '--label', 't5');
  assert.is(down.code, 0, down.stdout + down.stderr);
  assert.is(statSync(victim).nlink, 1);
  const [h1, h2] = [statSync(path.join(dest, 'h1')), statSync(path.join(dest, 'h2'))];
  assert.is(h1.ino, h2.ino);
  assert.is(h1.nlink, 2);
  const again = run('bundle', 'download', dest, '--repo', 'r', '--label', 't5');
  assert.is(again.code, 0, again.stderr);
  assert.is(statSync(path.join(dest, 'h1')).nlink, 2);
  assert.is(statSync(path.join(dest, 'h1')).ino, h1.ino, 'a rerun keeps a group whose links are all its members');
  assert.match(again.stdout, /2 already complete/);
});

t('download rewrites a complete-looking plain file hard-linked outside the destination', () => {
  const { root, run, upload } = setup();
  const src = path.join(root, 't7');
  writeFile(src, 'p', 'p\n');
  upload(src, 't7');
  const dest = path.join(root, 'o7');
  assert.is(run('--quiet', 'bundle', 'download', dest, '--repo', 'r', '--label', 't7').code, 0);
  const outside = path.join(root, 'out7');
  linkSync(path.join(dest, 'p'), outside);
  const again = run('bundle', 'download', dest, '--repo', 'r', '--label', 't7');
  assert.is(again.code, 0, again.stderr);
  assert.is(statSync(outside).nlink, 1);
  assert.is(statSync(path.join(dest, 'p')).nlink, 1);
});

t.run();
