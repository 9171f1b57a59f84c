/**
 * The server's pure parts, table-driven: Range headers, names in URLs (every manifest name has one URL and
 * back; hostile segments are refused), tar headers read back by GNU tar, the token check, listen addresses
 * and the loopback rule, HTML escaping; and, in process, that a file request reads its bundle descriptor once
 * and that requests share bounded caches of chunks and of manifest pages.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Readable } from 'node:stream';
import { Store, isDatamoverError, serve } from '../engine/index.js';
import { tokenCheck } from '../engine/serve/auth.js';
import { contentTypeFor } from '../engine/serve/content-type.js';
import { html } from '../engine/serve/html.js';
import { addressedToLoopback, checkExposure, hostOfHeader, isLoopback, parseListen } from '../engine/serve/listen.js';
import { parseRange } from '../engine/serve/range.js';
import { builtIn } from '../engine/serve/lineage-svg.js';
import { TAR_END, type TarEntry, padding, tarHeader } from '../engine/serve/tar.js';
import { encodeName, encodePath, nameFromSegment, pathFromQuery, pathFromSegments } from '../engine/serve/url-path.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import type { ByteRange } from '../engine/storage/storage.js';
import { get } from './serve-helpers.js';
import { seededBytes, tempDir, who, writeFile } from './helpers.js';

const t = suite('serve units: ranges, URL names, tar headers, token, listen, escaping');

t('Range: single ranges are served, cut to the file; past the end is unsatisfiable; malformed or multiple ranges mean the whole file', () => {
  const cases: [string | undefined, number, unknown][] = [
    [undefined, 100, { kind: 'whole' }],
    ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
    ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=90-1000', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
    ['bytes=-1000', 100, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'whole' }],
    ['bytes=0-1,5-6', 100, { kind: 'whole' }],
    ['items=0-1', 100, { kind: 'whole' }],
    ['bytes=-', 100, { kind: 'whole' }],
    ['bytes=a-b', 100, { kind: 'whole' }],
  ];
  for (const [header, size, want] of cases) assert.equal(parseRange(header, size), want, `${header} of ${size}`);
});

t('URL names: every name (unicode, reserved characters, bytes that are not UTF-8) encodes and decodes back; hostile segments are refused', () => {
  for (const name of ['plain.txt', 'Ünïcødé ✓.txt', 'a b%2F?#&=+;.txt', '日本語', 'emoji-🚀', 'bad-\udcff\udcfe', '...', '.hidden', '~x']) {
    const seg = encodeName(name);
    assert.ok(/^[A-Za-z0-9\-._~%]+$/.test(seg), seg);
    assert.is(nameFromSegment(seg), name, name);
  }
  assert.is(pathFromSegments(encodePath('a/b c/d').split('/')), 'a/b c/d');
  assert.is(pathFromSegments(['a', 'b', '']), 'a/b');
  assert.is(pathFromSegments([]), '');
  for (const seg of ['', '.', '..', '%2e%2e', '%2E.', '%2F', 'a%2fb', '%00', 'a%00', '%', '%g0', '%2', 'x'.repeat(256), '\u0100']) {
    assert.is(nameFromSegment(seg), undefined, JSON.stringify(seg));
  }
  assert.is(pathFromSegments(['a', '', 'b']), undefined);
  assert.is(pathFromSegments(Array(2100).fill('ab')), undefined, 'a path over 4096 bytes');
  assert.is(pathFromQuery('a%2Fb'), 'a/b');
  assert.is(pathFromQuery('/a/b/'), 'a/b');
  assert.is(pathFromQuery(undefined), '');
  assert.is(pathFromQuery('%2F'), '');
  for (const q of ['..', 'a/../b', '%2e%2e%2Fx', 'a//b', 'a%00', '//a']) assert.is(pathFromQuery(q), undefined, q);
});

t('tar headers: GNU tar extracts long names, unicode, bytes that are not UTF-8, long link targets, modes and mtimes', () => {
  const entries: (TarEntry & { data?: Buffer })[] = [
    { path: 'top', type: 'dir', size: 0, mode: 0o750, mtimeMs: 1_600_000_000_000 },
    { path: 'top/plain.txt', type: 'file', size: 5, mode: 0o640, mtimeMs: 1_500_000_000_500, data: Buffer.from('hello') },
    { path: `top/${'n'.repeat(120)}/${'m'.repeat(150)}.bin`, type: 'file', size: 600, mode: 0o600, mtimeMs: 1_400_000_000_000, data: Buffer.alloc(600, 7) },
    { path: 'top/Ünïcødé ✓.txt', type: 'file', size: 0, mode: 0o644, mtimeMs: 1_300_000_000_000 },
    { path: 'top/raw-\udcff\udcfe.bin', type: 'file', size: 3, mode: 0o644, mtimeMs: 1_300_000_000_000, data: Buffer.from('abc') },
    { path: 'top/link', type: 'symlink', size: 0, mode: 0o777, mtimeMs: 1_300_000_000_000, target: `../${'t'.repeat(200)}` },
  ];
  const parts: Buffer[] = [];
  for (const e of entries.slice(0, 2)) parts.push(tarHeader(e), e.data ?? Buffer.alloc(0), padding(e.size));
  parts.splice(2, 0, tarHeader({ path: `top/${'n'.repeat(120)}`, type: 'dir', size: 0, mode: 0o755, mtimeMs: 0 }));
  for (const e of entries.slice(2)) parts.push(tarHeader(e), e.data ?? Buffer.alloc(0), padding(e.size));
  parts.push(TAR_END);
  const out = tempDir('tar-units');
  const x = spawnSync('tar', ['-x', '-C', out], { input: Buffer.concat(parts) });
  assert.is(x.status, 0, x.stderr.toString());
  const top = path.join(out, 'top');
  assert.is(statSync(top).mode & 0o7777, 0o750);
  assert.is(readFileSync(path.join(top, 'plain.txt'), 'utf8'), 'hello');
  assert.is(statSync(path.join(top, 'plain.txt')).mtimeMs, 1_500_000_000_000);
  const long = path.join(top, 'n'.repeat(120), `${'m'.repeat(150)}.bin`);
  assert.ok(readFileSync(long).equals(Buffer.alloc(600, 7)));
  assert.is(statSync(long).mode & 0o7777, 0o600);
  assert.is(readFileSync(path.join(top, 'Ünïcødé ✓.txt'), 'utf8'), '');
  const names = readdirSync(Buffer.from(top), { encoding: 'buffer' });
  assert.ok(names.some((n) => n.equals(Buffer.concat([Buffer.from('raw-'), Buffer.of(0xff, 0xfe), Buffer.from('.bin')]))), 'the raw bytes of the name');
  assert.is(readlinkSync(path.join(top, 'link')), `../${'t'.repeat(200)}`);
});

t('token: bearer or basic password, compared whole; missing, wrong, malformed or a prefix are refused; no token lets all in', () => {
  const token = 'abcdefghijklmnop-123';
  const check = tokenCheck(token);
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  for (const ok of [`Bearer ${token}`, `bearer ${token}`, basic(`user:${token}`), basic(`:${token}`)]) assert.ok(check(ok), ok);
  for (const bad of [undefined, '', token, `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Bearer  `, basic(token), basic(`${token}:x`), `Digest ${token}`, `Bearer ${token} extra`]) {
    assert.not.ok(check(bad), String(bad));
  }
  assert.ok(tokenCheck(undefined)(undefined));
});

t('listen: addresses parse; only loopback goes without a token; a token must be long and printable', () => {
  assert.equal(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.equal(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseListen('9000'), { host: '127.0.0.1', port: 9000 });
  assert.equal(parseListen('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['', ':80', '1.2.3.4', '1.2.3.4:99999', '[zz]:1', 'a b:1', 'host:-1']) {
    assert.throws(() => parseListen(bad), (e: unknown) => isDatamoverError(e, 'USAGE'), bad);
  }
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1', '::2']) assert.not.ok(isLoopback(h), h);
  assert.throws(() => checkExposure({ host: '0.0.0.0', port: 1 }, undefined), (e: unknown) => isDatamoverError(e, 'USAGE'));
  checkExposure({ host: '0.0.0.0', port: 1 }, 'x'.repeat(16));
  checkExposure({ host: '127.0.0.1', port: 1 }, undefined);
  assert.throws(() => checkExposure({ host: '127.0.0.1', port: 1 }, 'short'), (e: unknown) => isDatamoverError(e, 'USAGE'));
  assert.throws(() => checkExposure({ host: '127.0.0.1', port: 1 }, 'with a space in it!!'), (e: unknown) => isDatamoverError(e, 'USAGE'));
  assert.is(hostOfHeader('[::1]:8080'), '::1');
  assert.is(hostOfHeader('LocalHost:80'), 'localhost');
  assert.is(hostOfHeader('127.0.0.1'), '127.0.0.1');
  for (const h of [undefined, 'localhost:8080', '127.0.0.1:1', '[::1]:9', 'localhost']) assert.ok(addressedToLoopback(h), String(h));
  for (const h of ['evil.example:8080', 'evil.example', '10.0.0.1:80', 'localhost.evil.example', '127.0.0.1.nip.io:80', '[::2]:1', '']) {
    assert.not.ok(addressedToLoopback(h), h);
  }
});

t('html escapes every interpolation (markup, quotes, control characters, bytes that are not UTF-8); content types by extension', () => {
  const evil = `<img src=x onerror="alert('1')">&\n\udcff`;
  assert.is(html`<p title="${evil}">${evil}</p>`.value,
    '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;\\n\\xFF">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;\\n\\xFF</p>');
  assert.is(html`${[html`<b>`, '<i>']}${undefined}${false}${0}`.value, '<b>&lt;i&gt;0');
  assert.is(contentTypeFor('a/B.CSV'), 'text/csv; charset=utf-8');
  assert.is(contentTypeFor('x.parquet'), 'application/vnd.apache.parquet');
  assert.is(contentTypeFor('noext'), 'application/octet-stream');
  assert.is(contentTypeFor('.bashrc'), 'application/octet-stream');
});

/** A memory store that counts reads of bundle descriptors and of manifest pages. */
class DescriptorCounting extends MemoryStorage {
  descriptorReads = 0;
  pageReads = 0;
  override get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    if (key.endsWith('/bundle.json')) this.descriptorReads++;
    if (key.includes('/manifest-')) this.pageReads++;
    return super.get(key, opts);
  }
}

t('a file request reads its bundle descriptor once (the resolved descriptor opens the reader)', async () => {
  const storage = new DescriptorCounting();
  const store = new Store({ url: storage.url }, storage);
  await store.createRepo('r', { contributor: who });
  const src = tempDir('serve-descriptor');
  writeFile(src, 'f.txt', 'hello');
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const server = await serve({ store, listen: '127.0.0.1:0', contributor: who });
  try {
    storage.descriptorReads = 0;
    const a = await get(server.url, `/repos/r/bundles/${up.bundle.id}/raw/f.txt`);
    assert.is(a.status, 200);
    assert.is(a.body.toString(), 'hello');
    assert.is(storage.descriptorReads, 1);
  } finally {
    await server.close();
  }
});

t('requests share a bounded cache of decoded manifest pages: a second file of the same bundle reads no page again; past the bound it does', async () => {
  const storage = new DescriptorCounting();
  const store = new Store({ url: storage.url }, storage);
  await store.createRepo('r', { contributor: who });
  const src = tempDir('serve-pages');
  for (let i = 0; i < 50; i++) writeFile(src, `d/f${i}.txt`, `file ${i}`);
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const fetchCounting = async (server: { url: string }, i: number) => {
    storage.pageReads = 0;
    const r = await get(server.url, `/repos/r/bundles/${up.bundle.id}/raw/d/f${i}.txt`);
    assert.is(r.status, 200);
    assert.is(r.body.toString(), `file ${i}`);
    return storage.pageReads;
  };
  const server = await serve({ store, listen: '127.0.0.1:0', contributor: who });
  try {
    assert.ok(await fetchCounting(server, 1) > 0, 'the first request reads the page');
    assert.is(await fetchCounting(server, 2), 0, 'another file of the bundle: the page is cached');
    assert.is(await fetchCounting(server, 1), 0, 'the same file again');
  } finally {
    await server.close();
  }
  // Bounded by entries: with room for less than one page, the page of another bundle pushes it out.
  writeFile(src, 'other.txt', 'another bundle, another page');
  const other = await store.repo('r').upload({ source: src, contributor: who });
  const small = await serve({ store, listen: '127.0.0.1:0', contributor: who, pageEntries: 10 });
  try {
    assert.ok(await fetchCounting(small, 1) > 0);
    assert.is((await get(small.url, `/repos/r/bundles/${other.bundle.id}/raw/other.txt`)).status, 200);
    assert.ok(await fetchCounting(small, 2) > 0, 'past the bound the page is read again');
  } finally {
    await small.close();
  }
});

/** A memory store that counts reads of packs. */
class PackCounting extends MemoryStorage {
  packReads = 0;
  override get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    if (key.startsWith('blobs/packs/')) this.packReads++;
    return super.get(key, opts);
  }
}

t('requests share one bounded chunk cache: the same file asked again (whole or a range) reads no pack; past the bound it does', async () => {
  const storage = new PackCounting();
  const store = new Store({ url: storage.url }, storage);
  await store.createRepo('r', { contributor: who });
  const src = tempDir('serve-shared');
  const [a, b] = [seededBytes(31, 3_000_000), seededBytes(32, 3_000_000)];
  writeFile(src, 'a.bin', a);
  writeFile(src, 'b.bin', b);
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const fileUrl = (name: string) => `/repos/r/bundles/${up.bundle.id}/raw/${name}`;
  const fetchCounting = async (server: { url: string }, name: string, headers: Record<string, string> = {}) => {
    storage.packReads = 0;
    const r = await get(server.url, fileUrl(name), headers);
    return { status: r.status, body: r.body, packReads: storage.packReads };
  };
  const server = await serve({ store, listen: '127.0.0.1:0', contributor: who });
  try {
    const first = await fetchCounting(server, 'a.bin');
    assert.is(first.status, 200);
    assert.ok(first.body.equals(a));
    assert.ok(first.packReads > 0);
    const again = await fetchCounting(server, 'a.bin');
    assert.ok(again.body.equals(a));
    assert.is(again.packReads, 0, 'the second request is served from the shared cache');
    const middle = await fetchCounting(server, 'a.bin', { Range: 'bytes=1000000-1999999' });
    assert.is(middle.status, 206);
    assert.ok(middle.body.equals(a.subarray(1_000_000, 2_000_000)));
    assert.is(middle.packReads, 0);
    const other = await fetchCounting(server, 'b.bin');
    assert.ok(other.body.equals(b));
    assert.ok(other.packReads > 0, 'another file is fetched');
  } finally {
    await server.close();
  }
  // The cache is bounded: with room for less than one file, asking again fetches again.
  const small = await serve({ store, listen: '127.0.0.1:0', contributor: who, cacheBytes: 1024 * 1024 });
  try {
    assert.ok((await fetchCounting(small, 'a.bin')).body.equals(a));
    const again = await fetchCounting(small, 'a.bin');
    assert.ok(again.body.equals(a));
    assert.ok(again.packReads > 0);
  } finally {
    await small.close();
  }
});

t('lineage SVG without Graphviz: the built-in layout draws a node per bundle (title <repo>@<id>, a link to it), an edge per input, text escaped', () => {
  const node = (repo: string, bundle: string, depth: number, extra: object = {}) => ({ id: `${repo}@${bundle}`, repo, bundle, depth, ...extra });
  const graph = {
    root: 'model@M1', direction: 'up' as const, damaged: [],
    nodes: [node('model', 'M1', 0, { run: { id: 'step <2> & "x"' } }), node('features', 'F1', 1), node('raw', 'R1', 2), node('raw', 'GONE', 1, { missing: 'no such bundle' })],
    edges: [{ from: 'features@F1', to: 'model@M1' }, { from: 'raw@R1', to: 'features@F1' }, { from: 'raw@GONE', to: 'model@M1' }],
  };
  const svg = builtIn(graph);
  assert.equal([...svg.matchAll(/<g class="node"><title>([^<]*)<\/title>/g)].map((m) => m[1]), ['model@M1', 'features@F1', 'raw@R1', 'raw@GONE']);
  assert.is((svg.match(/<g class="edge">/g) ?? []).length, 3);
  assert.ok(svg.includes('<a href="/repos/raw/bundles/R1">'));
  assert.not.ok(svg.includes('href="/repos/raw/bundles/GONE"'), 'a missing bundle has no page to link to');
  assert.ok(svg.includes('run step &lt;2&gt; &amp; &quot;x&quot;'));
  assert.not.ok(svg.includes('<2>'));
  // Data flows left to right: going up, the root is in the last column.
  const x = (id: string) => Number(new RegExp(`<title>${id}</title>(?:<a [^>]*>)?<rect x="(\\d+)"`).exec(svg)![1]);
  assert.ok(x('raw@R1') < x('features@F1') && x('features@F1') < x('model@M1'));
});

t.run();
