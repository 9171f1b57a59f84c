/**
 * Issue 13's "done when": one hostile tree through the binary — names that are not UTF-8, 255-byte multi-byte
 * names (file, directory, symlink), a newline, NFD beside NFC, hard-link groups, a sparse file, extended
 * attributes and an ACL, mtimes before 1970 and to the nanosecond — round-trips exactly: `diff -r`, and a
 * listing of every entry by its raw name bytes with type, mode, size, SHA-256, mtime to the nanosecond, inode
 * group, allocated blocks and attributes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, runsIf, seededBytes, tempDir } from './helpers.js';

const t = suite('hostile tree: every name class and every kind of metadata round-trips exactly');
const require = createRequire(import.meta.url);
const MiB = 1024 * 1024;

interface XattrApi { listAttributesSync(p: string): string[]; getAttributeSync(p: string, n: string): Buffer | null; setAttributeSync(p: string, n: string, v: Buffer): void }
const loads = (name: string) => { try { return require(name) as unknown; } catch { return undefined; } };
const xattr = loads('@napi-rs/xattr') as XattrApi | undefined;
const nsHelper = loads('datamover-utimens');
const setfacl = spawnSync('setfacl', ['--version']).status === 0;
const missing = [
  !xattr && 'the xattr package @napi-rs/xattr is not installed',
  !nsHelper && 'the native helper datamover-utimens did not build (no compiler): times restore to the microsecond',
  !setfacl && 'setfacl is not installed (Debian package acl)',
].filter(Boolean).join('; ');

const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
const join = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(`${dir}/`), name]);

/** Sets a time with nanoseconds (and before 1970) through coreutils, never following a link. */
function touchNs(abs: string, at: string): void {
  execFileSync('touch', ['-h', '-d', `@${at}`, abs]);
}

function makeTree(src: string): void {
  const cjk = 'あ'.repeat(85); // 255 bytes
  writeFileSync(join(src, raw('caf', [0xe9], '.txt')), 'latin-1 name');
  writeFileSync(path.join(src, 'plain sibling.txt'), 'sibling of the latin-1 name');
  mkdirSync(join(src, raw('dir', [0xff, 0xfe])));
  writeFileSync(join(src, raw('dir', [0xff, 0xfe], '/inside', [0x80], '.bin')), seededBytes(7, 70_000));
  writeFileSync(path.join(src, cjk), 'a 255-byte name');
  mkdirSync(path.join(src, `d${'é'.repeat(127)}`)); // 255 bytes
  writeFileSync(path.join(src, `d${'é'.repeat(127)}`, cjk), 'a 255-byte name in a 255-byte directory');
  symlinkSync(cjk, path.join(src, `l${'é'.repeat(127)}`));
  writeFileSync(path.join(src, 'new\nline.txt'), 'newline');
  writeFileSync(path.join(src, 'e\u0301.txt'), 'NFD');
  writeFileSync(path.join(src, '\u00e9.txt'), 'NFC');
  mkdirSync(path.join(src, 'links'));
  writeFileSync(path.join(src, 'links/a'), seededBytes(11, 300_000));
  linkSync(path.join(src, 'links/a'), path.join(src, 'links/b'));
  linkSync(path.join(src, 'links/a'), path.join(src, 'c-other-dir-link'));
  writeFileSync(path.join(src, 'links/separate'), seededBytes(11, 300_000));
  const fd = openSync(path.join(src, 'sparse.bin'), 'w');
  writeSync(fd, seededBytes(12, 4 * MiB), 0, 4 * MiB, 32 * MiB); // one chunk of data, chunk-aligned, amid holes
  ftruncateSync(fd, 64 * MiB);
  closeSync(fd);
  xattr!.setAttributeSync(path.join(src, 'plain sibling.txt'), 'user.comment', Buffer.from('kept'));
  xattr!.setAttributeSync(path.join(src, 'links'), 'user.dir-note', Buffer.from([0, 1, 2, 255]));
  execFileSync('setfacl', ['-m', 'u:nobody:r', path.join(src, 'links/separate')]);
  touchNs(path.join(src, '\u00e9.txt'), '-315619200.123456789'); // 1960
  touchNs(path.join(src, 'new\nline.txt'), '1767225600.987654321');
  touchNs(path.join(src, 'sparse.bin'), '-1.000000001');
  touchNs(path.join(src, `l${'é'.repeat(127)}`), '1000000000.000000001');
  touchNs(path.join(src, 'links'), '1600000000.5');
}

/** One line per entry, by raw name bytes (hex), with everything the round trip must keep. */
function listing(root: string): string[] {
  const lines: string[] = [];
  const groups = new Map<bigint, string>();
  const walk = (rel: Buffer) => {
    const dir = rel.length ? Buffer.concat([Buffer.from(`${root}/`), rel]) : Buffer.from(root);
    for (const name of readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const relPath = rel.length ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const abs = Buffer.concat([Buffer.from(`${root}/`), relPath]);
      const st = lstatSync(abs, { bigint: true });
      const id = relPath.toString('hex');
      const type = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
      const group = type === 'file' && st.nlink > 1n ? (groups.get(st.ino) ?? (groups.set(st.ino, id), id)) : '';
      const content = type === 'file' ? createHash('sha256').update(readFileSync(abs)).digest('hex')
        : type === 'link' ? readlinkSync(abs, { encoding: 'buffer' }).toString('hex') : '';
      const attrs = type === 'link' ? '' : attributes(abs);
      lines.push([id, type, type === 'link' ? '' : (st.mode & 0o7777n).toString(8), type === 'dir' ? '' : st.size, content,
        st.mtimeNs, group, type === 'file' ? st.blocks : '', attrs].join('\t'));
      if (type === 'dir') walk(relPath);
    }
  };
  walk(Buffer.alloc(0));
  return lines;
}

function attributes(abs: Buffer): string {
  const p = abs.toString();
  if (!Buffer.from(p).equals(abs)) return '(name not UTF-8)';
  return xattr!.listAttributesSync(p).filter((n) => n.startsWith('user.') || n.startsWith('system.posix_acl'))
    .sort().map((n) => `${n}=${xattr!.getAttributeSync(p, n)?.toString('hex')}`).join(',');
}

runsIf(t, missing || undefined)('upload and download round-trip the hostile tree exactly; a rerun writes nothing', () => {
  const src = tempDir('hostile-tree-src');
  makeTree(src);
  const store = tempDir('hostile-tree-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(up.code, 0, up.stderr);
  const dest = path.join(tempDir('hostile-tree-dest'), 'out');
  const down = cli(['--store', store, '--json', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(down.code, 0, down.stderr);
  assert.is(down.stderr, '', 'no warning');
  const diff = spawnSync('diff', ['-r', '--no-dereference', src, dest], { encoding: 'utf8' });
  assert.is(diff.status, 0, diff.stdout + diff.stderr);
  const want = listing(src);
  assert.ok(want.some((l) => l.includes('user.comment')) && want.some((l) => l.includes('system.posix_acl_access')), 'the source has attributes');
  assert.ok(want.filter((l) => l.split('\t')[6]).length === 3, 'the source has one group of three links');
  assert.equal(listing(dest), want);
  const again = cli(['--store', store, '--json', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(again.code, 0, again.stderr);
  assert.equal(listing(dest), want, 'a rerun changes nothing');
});

t.run();
