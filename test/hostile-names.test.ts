/**
 * Hostile names and destinations, through the binary: names that are bytes and not UTF-8, 255-byte multi-byte
 * names, newlines, NFD and NFC twins all round-trip byte for byte; a directory that changes during the walk is
 * an error or a reported skip, never an empty directory; `bundle update` changes nothing through a link; temp
 * files of killed or interrupted downloads do not stay; `bundle files` quotes names that would mislead.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isDatamoverError } from '../engine/errors.js';
import { bytesOf, cutToBytes, displayName, fsPath, isCanonicalName, nameFromBytes } from '../engine/fs-path.js';
import { type ScanEntry, type ScanSkip, walkTree } from '../engine/scan/walk.js';
import { asNobody, cli, cliAsync, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

/** The content id `bundle files` shows for a file of one chunk holding `data` (README "bundle files"). */
const oneChunkId = (data: string) => createHash('sha256').update(`${createHash('sha256').update(data).digest('hex')} ${Buffer.byteLength(data)}\n`).digest('hex');

const t = suite('hostile names: raw bytes, long names, newlines, NFD; links and temp files in the destination');

/** A path under `root` made of raw bytes (names as Linux has them). */
const raw = (root: string, ...parts: (string | number[])[]): Buffer =>
  Buffer.concat([Buffer.from(root), ...parts.map((p) => Buffer.concat([Buffer.from('/'), typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)]))]);

interface RawRecord { type: string; mode: number; sha?: string; target?: string }

/** Every entry under `root`, keyed by its relative path's bytes (hex): what must come back byte for byte. */
function rawTree(root: string): Map<string, RawRecord> {
  const out = new Map<string, RawRecord>();
  const walk = (dir: Buffer, rel: Buffer) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' })) {
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = lstatSync(abs);
      const key = r.toString('hex');
      if (st.isSymbolicLink()) out.set(key, { type: 'symlink', mode: 0, target: readlinkSync(abs, { encoding: 'buffer' }).toString('hex') });
      else if (st.isDirectory()) {
        out.set(key, { type: 'dir', mode: st.mode & 0o7777 });
        walk(abs, r);
      } else out.set(key, { type: 'file', mode: st.mode & 0o7777, sha: createHash('sha256').update(readFileSync(abs)).digest('hex') });
    }
  };
  walk(Buffer.from(root), Buffer.alloc(0));
  return out;
}

t('names module: any bytes map to a string and back unchanged, one-to-one; cuts by bytes; display escapes', () => {
  const samples: Buffer[] = [Buffer.from('plain'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from([0xff, 0xfe]),
    Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe0, 0x80, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('🚀é\n')];
  for (let i = 0; i < 2000; i++) samples.push(seededBytes(i + 1, 1 + (i % 23)));
  const seen = new Map<string, string>();
  for (const bytes of samples) {
    const s = nameFromBytes(bytes);
    assert.equal(bytesOf(s), bytes, `round trip of ${bytes.toString('hex')}`);
    assert.ok(isCanonicalName(s));
    assert.is(JSON.parse(JSON.stringify(s)), s, 'survives JSON');
    const other = seen.get(s);
    assert.ok(other === undefined || other === bytes.toString('hex'), 'one-to-one');
    seen.set(s, bytes.toString('hex'));
  }
  assert.is(nameFromBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9])), 'caf\udce9');
  assert.is(displayName('caf\udce9/🚀'), 'caf\\xE9/🚀');
  assert.is(fsPath('plain/é'), 'plain/é');
  assert.ok(Buffer.isBuffer(fsPath('caf\udce9')));
  assert.not.ok(isCanonicalName('caf\udcc3\udca9'), 'escaped bytes that spell UTF-8 are a second spelling');
  assert.is(Buffer.byteLength(cutToBytes('日'.repeat(100), 200)), 198, 'never splits a character');
  assert.is(cutToBytes('ab\udce9cd', 3), 'ab\udce9');
});

const CJK_255 = '日'.repeat(85); // 85 × 3 bytes: a name of exactly NAME_MAX bytes
const EMOJI_255 = `${'🚀'.repeat(63)}abc`; // 63 × 4 + 3 bytes

/** A tree with every name class of the issue. */
function hostileTree(): string {
  const src = tempDir('names-src');
  mkdirSync(path.join(src, 'd'));
  writeFileSync(raw(src, 'd', [0x63, 0x61, 0x66, 0xe9]), 'latin-1 cafe'); // $'caf\xe9'
  writeFileSync(raw(src, 'd', [0xff, 0xfe]), 'two bad bytes');
  writeFile(src, 'd/sibling.txt', 'a sibling of the raw names');
  writeFile(src, 'd/zz-last.txt', 'sorted after them');
  mkdirSync(raw(src, [0x64, 0x69, 0x72, 0xe9])); // a directory $'dir\xe9' with children
  writeFileSync(raw(src, [0x64, 0x69, 0x72, 0xe9], 'inside.txt'), 'in a raw-named directory');
  writeFileSync(raw(src, [0x64, 0x69, 0x72, 0xe9], [0xc3, 0x28]), 'invalid two-byte sequence');
  symlinkSync(raw(src, [0x74, 0xe9]).subarray(src.length + 1), raw(src, [0x6c, 0x6e, 0xe9])); // $'ln\xe9' -> $'t\xe9'
  writeFile(src, CJK_255, seededBytes(1, 5000));
  writeFile(src, `${EMOJI_255.slice(0, -3)}.x`, 'emoji');
  mkdirSync(path.join(src, '本'.repeat(85)));
  writeFile(src, `${'本'.repeat(85)}/${'語'.repeat(85)}`, 'long in long');
  symlinkSync('target', path.join(src, `${'链'.repeat(85)}`));
  writeFile(src, 'new\nline.txt', 'newline');
  writeFile(src, 'tab\there\x1b[31m.txt', 'controls');
  writeFile(src, 'nfc/caf\u00e9.txt', 'composed');
  writeFile(src, 'nfc/cafe\u0301.txt', 'decomposed');
  writeFile(src, 'nfc/\u212b.txt', 'angstrom sign (NFC: U+00C5)');
  writeFile(src, 'nfc/\u00c5.txt', 'A with ring');
  return src;
}

function storeWith(src: string, label = 'l', extra: string[] = []): string {
  const store = path.join(tempDir('names-store'), 's');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', label, ...extra]);
  assert.is(up.code, 0, up.stderr);
  return store;
}

t('raw-byte, 255-byte, newline and NFD/NFC-twin names round-trip byte for byte (names, contents, links)', () => {
  const src = hostileTree();
  const store = storeWith(src);
  const files = cli(['--store', store, '--json', 'bundle', 'files', '--repo', 'r', '--label', 'l']);
  assert.is(files.code, 0, files.stderr);
  assert.is(summaryOf(files.stdout).entries, rawTree(src).size, 'every entry is in the manifest');
  const dest = path.join(tempDir('names-dest'), 'out');
  const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(down.code, 0, down.stderr);
  assert.equal(rawTree(dest), rawTree(src));
  assert.ok(existsSync(path.join(dest, 'nfc', 'caf\u00e9.txt')) && existsSync(path.join(dest, 'nfc', 'cafe\u0301.txt')), 'both twins');
  assert.is(readFileSync(path.join(dest, 'nfc', 'cafe\u0301.txt'), 'utf8'), 'decomposed');
  // A rerun finds everything complete and rewrites nothing.
  const again = cli(['--store', store, '--json', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(again.code, 0, again.stderr);
  assert.is(summaryOf(again.stdout).files, 0);
  assert.equal(rawTree(dest), rawTree(src));
  const verify = cli(['--store', store, 'bundle', 'verify', '--repo', 'r', '--label', 'l']);
  assert.is(verify.code, 0, verify.stderr);
  // update takes the same names: one raw-named file removed, one rewritten, a raw-named directory's mode changed.
  rmSync(raw(src, 'd', [0xff, 0xfe]));
  writeFileSync(raw(src, 'd', [0x63, 0x61, 0x66, 0xe9]), 'rewritten');
  chmodSync(raw(src, [0x64, 0x69, 0x72, 0xe9]), 0o700);
  writeFileSync(raw(src, [0x64, 0x69, 0x72, 0xe9], [0xe9, 0x0a]), 'new, raw and a newline');
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l2']).code, 0);
  const update = cli(['--store', store, 'bundle', 'update', dest, '--repo', 'r', '--label', 'l2', '--from', 'l']);
  assert.is(update.code, 0, update.stderr);
  assert.equal(rawTree(dest), rawTree(src));
});

t('bundle files quotes names with control characters or non-UTF-8 bytes as ls does; --json stays exact', () => {
  const src = tempDir('quote-src');
  writeFile(src, 'new\nline', 'x');
  writeFile(src, "it's", 'x');
  writeFile(src, 'plain name.txt', 'x');
  writeFileSync(raw(src, [0x63, 0x61, 0x66, 0xe9]), 'x');
  symlinkSync('to\nthere', path.join(src, 'link'));
  const store = storeWith(src);
  const text = cli(['--store', store, 'bundle', 'files', '--repo', 'r', '--label', 'l']);
  assert.is(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  const x = oneChunkId('x');
  assert.equal(lines, [
    `file\t1\t${x}\t'caf'$'\\xE9'`,
    `file\t1\t${x}\t'it'\\''s'`,
    "symlink\t0\t-\tlink -> 'to'$'\\n''there'",
    `file\t1\t${x}\t'new'$'\\n''line'`,
    `file\t1\t${x}\tplain name.txt`,
  ]);
  const json = cli(['--store', store, '--json', 'bundle', 'files', '--repo', 'r', '--label', 'l']);
  const paths = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'file').map((e) => e.entry.path);
  assert.equal(paths, ['caf\udce9', "it's", 'link', 'new\nline', 'plain name.txt']);
  assert.ok(json.stdout.includes('"caf\\udce9"'), 'the raw byte is escaped in the JSON text, never replaced');
});

t('an error naming a path with a newline or a non-UTF-8 byte stays one line, the name escaped', () => {
  const src = tempDir('msg-src');
  writeFile(src, 'new\nline', 'x');
  writeFileSync(raw(src, [0x63, 0x61, 0x66, 0xe9]), 'y');
  const store = storeWith(src);
  for (const [name, shown] of [['new\nline', 'new\\nline'], [[0x63, 0x61, 0x66, 0xe9], 'caf\\xE9']] as const) {
    const dest = tempDir('msg-dest');
    mkdirSync(raw(dest, typeof name === 'string' ? name : [...name])); // a directory where the bundle has a file
    writeFileSync(raw(dest, typeof name === 'string' ? name : [...name], 'keep'), 'k');
    const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(shown), `${r.stderr} names ${shown}`);
  }
});

/** Runs the walk to its end; returns what it yielded and what it reported, or the error it threw. */
async function walkAll(root: string, skipOnError: boolean, afterList: (dir: string) => void) {
  const entries: ScanEntry[] = [];
  const skipped: ScanSkip[] = [];
  try {
    for await (const e of walkTree(root, () => undefined, skipOnError ? (s) => skipped.push(s) : undefined, { afterList })) entries.push(e);
  } catch (err) {
    return { entries, skipped, error: err };
  }
  return { entries, skipped, error: undefined };
}

t('a directory renamed or removed during the walk is an error naming it, or with skip-on-error a reported skip', async () => {
  for (const change of ['rename', 'remove'] as const) {
    const root = tempDir('walk-race');
    writeFile(root, 'a.txt', 'a');
    for (let i = 0; i < 5; i++) writeFile(root, `victim/f${i}`, 'v');
    writeFile(root, 'z.txt', 'z');
    const race = (dir: string) => {
      if (path.basename(dir) !== 'victim') return;
      if (change === 'rename') renameSync(dir, path.join(root, 'moved'));
      else rmSync(dir, { recursive: true });
    };
    const strict = await walkAll(root, false, race);
    assert.ok(isDatamoverError(strict.error, 'BAD_INPUT'), `${change}: ${String(strict.error)}`);
    assert.match(String(strict.error), /cannot list directory .*victim/);
    rmSync(root, { recursive: true });

    const root2 = tempDir('walk-race');
    writeFile(root2, 'a.txt', 'a');
    for (let i = 0; i < 5; i++) writeFile(root2, `victim/f${i}`, 'v');
    writeFile(root2, 'z.txt', 'z');
    const race2 = (dir: string) => {
      if (path.basename(dir) !== 'victim') return;
      if (change === 'rename') renameSync(dir, path.join(root2, 'moved'));
      else rmSync(dir, { recursive: true });
    };
    const lenient = await walkAll(root2, true, race2);
    assert.is(lenient.error, undefined, String(lenient.error));
    assert.equal(lenient.entries.map((e) => e.path), ['a.txt', 'z.txt'], `${change}: the directory is left out whole, not recorded empty`);
    assert.equal(lenient.skipped.map((s) => s.path), ['victim']);
    assert.match(lenient.skipped[0]!.reason, /directory not listed/);
  }
});

t('a file that vanishes between listing and lstat is an error, or with skip-on-error a reported skip', async () => {
  const make = () => {
    const root = tempDir('walk-vanish');
    writeFile(root, 'd/keep.txt', 'k');
    writeFile(root, 'd/gone.txt', 'g');
    return root;
  };
  const vanish = (dir: string) => { if (path.basename(dir) === 'd') rmSync(path.join(dir, 'gone.txt')); };
  const strict = await walkAll(make(), false, vanish);
  assert.ok(isDatamoverError(strict.error, 'BAD_INPUT'), String(strict.error));
  assert.match(String(strict.error), /gone\.txt vanished/);
  const lenient = await walkAll(make(), true, vanish);
  assert.is(lenient.error, undefined);
  assert.equal(lenient.entries.map((e) => e.path), ['d', 'd/keep.txt']);
  assert.equal(lenient.skipped, [{ path: 'd/gone.txt', reason: 'vanished while listed' }]);
});

const root = process.getuid?.() === 0;
const noSetpriv = root && spawnSync('setpriv', ['--version']).status !== 0;
t(`upload of a directory that lists but cannot be searched: an error, or with --skip-on-error a reported skip (exit 3)${noSetpriv ? ' (SKIPPED: root without setpriv)' : ''}`, () => {
  if (noSetpriv) return console.log('  SKIPPED: needs setpriv to run as nobody when the tests run as root');
  const src = tempDir('unlistable');
  writeFile(src, 'ok.txt', 'ok');
  writeFile(src, 'locked/secret.txt', 's');
  chmodSync(src, 0o755);
  chmodSync(path.join(src, 'locked'), 0o644); // readdir works, lstat of its entries fails (EACCES)
  const store = path.join(tempDir('unlistable-store'), 's');
  chmodSync(path.dirname(store), 0o777);
  const run = root ? asNobody : cli;
  assert.is(run(['--store', store, 'repo', 'create', 'r']).code, 0);
  const strict = run(['--store', store, 'bundle', 'upload', src, '--repo', 'r']);
  assert.is(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /cannot list directory .*locked: secret\.txt: EACCES/);
  const lenient = run(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--skip-on-error']);
  assert.is(lenient.code, 3, lenient.stderr);
  assert.match(lenient.stderr, /locked \(directory not listed: secret\.txt: EACCES\)/);
  const files = run(['--store', store, 'bundle', 'files', '--repo', 'r', '--label', 'l']);
  assert.equal(files.stdout.trim().split('\n'), [`file\t2\t${oneChunkId('ok')}\tok.txt`], 'left out whole, not recorded as an empty directory');
});

/** Mode and mtime (ns) of what `p` names, following links: the outside target must keep both. */
const attrs = (p: string) => { const st = statSync(p, { bigint: true }); return `${st.mode} ${st.mtimeNs}`; };

t('bundle update never changes a mode or mtime through a link that replaced a destination entry', () => {
  const src = tempDir('upd-src');
  writeFile(src, 'f.txt', 'same content', 0o644, 1_600_000_000);
  writeFile(src, 'sub/in.txt', 'inside', 0o644, 1_600_000_000);
  const store = storeWith(src, 'a');
  // Bundle b: the same content, other modes and mtimes (an attribute-only change for both the file and the dir).
  chmodSync(path.join(src, 'f.txt'), 0o600);
  utimesSync(path.join(src, 'f.txt'), 1_700_000_000, 1_700_000_000);
  chmodSync(path.join(src, 'sub'), 0o700);
  utimesSync(path.join(src, 'sub'), 1_700_000_000, 1_700_000_000);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'b']).code, 0);

  for (const victim of ['f.txt', 'sub'] as const) {
    const dest = path.join(tempDir('upd-dest'), 'out');
    assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'a']).code, 0);
    const outside = tempDir('upd-outside');
    const target = path.join(outside, victim === 'f.txt' ? 'precious.txt' : 'precious-dir');
    if (victim === 'f.txt') writeFileSync(target, 'not yours');
    else mkdirSync(target);
    chmodSync(target, 0o755);
    utimesSync(target, 1_500_000_000, 1_500_000_000);
    const before = attrs(target);
    rmSync(path.join(dest, victim), { recursive: true });
    symlinkSync(target, path.join(dest, victim));
    const r = cli(['--store', store, 'bundle', 'update', dest, '--repo', 'r', '--label', 'b', '--from', 'a']);
    assert.is(r.code, 4, `${victim}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${victim.replace('.', '\\.')} in the destination is a symlink`));
    assert.is(attrs(target), before, `${victim}: the link's target outside kept its mode and mtime`);
    assert.ok(lstatSync(path.join(dest, victim)).isSymbolicLink(), 'the link itself is left for the user to see');
  }
});

/** Temp names of a restore under `root`, relative: `.<name>.dm-tmp-...` (and the older `.<name>.dm-<tag>`). */
function tempNames(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((p) => /^\..*\.dm-/.test(path.basename(p)));
}

/** A pid that no longer runs (a child that has exited). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

t('a rerun of download removes stale temp names a killed run left, and never a live run\'s or a user\'s file', () => {
  const src = tempDir('stale-src');
  writeFile(src, 'a.txt', 'a');
  writeFile(src, 'd/b.txt', 'b');
  const store = storeWith(src);
  const dest = path.join(tempDir('stale-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  const dead = deadPid().toString(36);
  const stale = [`.a.txt.dm-tmp-${dead}-0123abcd-0`, `d/.b.txt.dm-tmp-${dead}-89abcdef-1z`, `.${'日'.repeat(60)}.dm-tmp-${dead}-0123abcd-2`];
  const kept = [
    `.a.txt.dm-tmp-${process.pid.toString(36)}-0123abcd-0`, // a live process's (this test's)
    '.a.txt.dm-tmp-notours', 'a.dm-tmp-1-0123abcd-0', 'd/notes.dm-tmp', // a user's files of a similar name
  ];
  for (const p of [...stale, ...kept]) writeFileSync(path.join(dest, p), 'partial');
  symlinkSync('x', path.join(dest, `d/.link.dm-tmp-${dead}-0123abcd-3`)); // a link temp of a killed run
  mkdirSync(path.join(dest, `.dir.dm-tmp-${dead}-0123abcd-4`)); // a directory is never ours
  const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(r.code, 0, r.stderr);
  for (const p of stale) assert.not.ok(existsSync(path.join(dest, p)), `${p} removed`);
  assert.not.ok(existsSync(path.join(dest, `d/.link.dm-tmp-${dead}-0123abcd-3`)), 'stale link temp removed');
  for (const p of kept) assert.ok(existsSync(path.join(dest, p)), `${p} kept`);
  assert.ok(existsSync(path.join(dest, `.dir.dm-tmp-${dead}-0123abcd-4`)), 'a directory is kept');
});

/** Starts a download of a slow-to-restore bundle and returns once a temp file exists, with the child. */
async function downloadCaughtMidway(store: string, dest: string) {
  const child = cliAsync(['--store', store, '--concurrency', '1', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  while (!tempNames(dest).length && child.exitCode === null && Date.now() < deadline) await sleep(1);
  assert.ok(tempNames(dest).length, 'caught the download with a temp file (raise the data size if this machine is faster)');
  return { child, exited, stderr: () => stderr };
}

function bigSource(): string {
  const src = tempDir('sig-src');
  // Files of 5 MiB span two reads with --concurrency 1, so a temp file lives across reads.
  for (let i = 0; i < 24; i++) writeFile(src, `f${String(i).padStart(2, '0')}.bin`, seededBytes(700 + i, 5 * 1024 * 1024 + i));
  return src;
}

t('SIGINT, SIGTERM and SIGHUP mid-download remove the temp files and exit 130; SIGKILL leaves them to the rerun', async () => {
  const src = bigSource();
  const store = storeWith(src);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const dest = path.join(tempDir('sig-dest'), 'out');
    const run = await downloadCaughtMidway(store, dest);
    run.child.kill(signal);
    const { code } = await run.exited;
    assert.is(code, 130, `${signal}: ${run.stderr()}`);
    assert.match(run.stderr(), /interrupted/);
    assert.equal(tempNames(dest), [], `${signal}: no temp file left`);
  }
  const dest = path.join(tempDir('sig-dest'), 'out');
  const run = await downloadCaughtMidway(store, dest);
  run.child.kill('SIGKILL');
  await run.exited;
  const rerun = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(rerun.code, 0, rerun.stderr);
  assert.equal(tempNames(dest), [], 'the rerun removed what the killed run left');
  assert.equal(rawTree(dest), rawTree(src));
});

t.run();
