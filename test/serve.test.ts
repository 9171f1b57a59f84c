/**
 * `serve` through the binary: every file of the round-trip tree fetched over HTTP equals its source; ranges;
 * the loopback rule and the token; path escapes are 404s; a damaged chunk is a 502 naming the file (or a cut
 * transfer once bytes went out, never a wrong byte); reads land in the read log with the client's address;
 * a directory's tar extracts to the source subtree.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { keys } from '../engine/vocab.js';
import { cliAsync, cli, describeTree, makeMixedTree, seededBytes, tempDir, who, writeFile } from './helpers.js';
import { type Served, encodedPath, get, startServe } from './serve-helpers.js';

const t = suite('serve: HTTP over a store, through the binary');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LONG_NAME = `${'long-name-'.repeat(16)}.txt`; // 164 bytes: a pax path record
let src = '';
let storeRoot = '';
let bundle = '';
let served: Served;

async function uploadTree(source: string): Promise<{ root: string; bundle: string }> {
  const root = tempDir('serve-store');
  const store = await openStore({ url: root, create: true });
  await store.createRepo('r', { contributor: who, description: 'served <script>alert(1)</script>' });
  const up = await store.repo('r').upload({ source, contributor: who, message: 'first <b>bold</b>' });
  return { root, bundle: up.bundle.id };
}

t.before(async () => {
  src = tempDir('serve-src');
  makeMixedTree(src, 60);
  writeFile(src, `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/${LONG_NAME}`, 'long path', 0o600, 1_500_000_000);
  symlinkSync(`../${'t'.repeat(120)}`, path.join(src, 'links/long-target'));
  ({ root: storeRoot, bundle } = await uploadTree(src));
  served = await startServe(storeRoot);
});

t.after(async () => {
  await served?.stop();
});

const raw = (p: string, ref = bundle) => `/repos/r/bundles/${ref}/raw/${encodedPath(p)}`;

t('every file of the tree fetched over HTTP equals its source byte for byte; directories list their children; symlinks their targets', async () => {
  const tree = describeTree(src);
  let files = 0;
  for (const [rel, rec] of tree) {
    if (rec.type === 'file') {
      const a = await get(served.url, raw(rel));
      assert.is(a.status, 200, rel);
      assert.is(Number(a.headers['content-length']), rec.size, rel);
      assert.is(sha(a.body), rec.sha, rel);
      files++;
    } else {
      const a = await get(served.url, `/api/repos/r/bundles/${bundle}/tree?path=${encodeURIComponent(rel)}`);
      assert.is(a.status, 200, rel);
      const json = JSON.parse(a.body.toString());
      assert.is(json.entry.type, rec.type, rel);
      if (rec.type === 'symlink') assert.is(json.entry.target, rec.target, rel);
      else assert.equal(json.children.map((c: { path: string }) => path.posix.basename(c.path)).sort(), readdirSync(path.join(src, rel)).sort(), rel);
    }
  }
  assert.ok(files > 60);
});

t('ranges: start, middle across a chunk boundary, end, past the end, suffix; unsatisfiable is 416 with bytes */size; HEAD; ETag revalidation', async () => {
  const file = 'big/multi-chunk.bin';
  const data = readFileSync(path.join(src, file));
  const size = data.length;
  const cases: [string, number, number][] = [
    ['bytes=0-99', 0, 99], [`bytes=${4 * 2 ** 20 - 1000}-${4 * 2 ** 20 + 999}`, 4 * 2 ** 20 - 1000, 4 * 2 ** 20 + 999],
    [`bytes=${size - 100}-`, size - 100, size - 1], [`bytes=${size - 50}-${size + 1000}`, size - 50, size - 1], ['bytes=-777', size - 777, size - 1],
    [`bytes=-${size + 5}`, 0, size - 1],
  ];
  for (const [range, start, end] of cases) {
    const a = await get(served.url, raw(file), { range });
    assert.is(a.status, 206, range);
    assert.is(a.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
    assert.is(Number(a.headers['content-length']), end - start + 1, range);
    assert.ok(a.body.equals(data.subarray(start, end + 1)), range);
  }
  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
    const a = await get(served.url, raw(file), { range });
    assert.is(a.status, 416, range);
    assert.is(a.headers['content-range'], `bytes */${size}`, range);
  }
  const empty = await get(served.url, raw('empty.txt'), { range: 'bytes=0-' });
  assert.is(empty.status, 416);
  const head = await get(served.url, raw(file), {}, 'HEAD');
  assert.is(head.status, 200);
  assert.is(Number(head.headers['content-length']), size);
  assert.is(head.body.length, 0);
  assert.is(head.headers['accept-ranges'], 'bytes');
  assert.ok(head.headers['last-modified']);
  const etag = head.headers.etag!;
  assert.match(etag, bundle);
  assert.is((await get(served.url, raw(file), { 'if-none-match': etag })).status, 304);
  const stale = await get(served.url, raw(file), { range: 'bytes=0-9', 'if-range': '"other"' });
  assert.is(stale.status, 200);
  assert.is(stale.body.length, size);
  assert.is((await get(served.url, raw('unicode/日本語/ファイル.txt'))).headers['content-type'], 'text/plain; charset=utf-8');
});

/** Runs the binary and kills it after `ms` (a server that wrongly started must not hang the suite). */
function runBriefly(args: string[], env: Record<string, string> = {}, ms = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cliAsync(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

t('a non-loopback address without a token refuses to start: one line, exit 2; a short token is refused too', async () => {
  for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.1:0']) {
    const r = await runBriefly(['--store', storeRoot, 'serve', '--listen', listen]);
    assert.is(r.code, 2, `${listen}: ${r.stderr}`);
    assert.is(r.stdout, '');
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--listen .*not a loopback address.*token/);
  }
  const short = await runBriefly(['--store', storeRoot, 'serve', '--listen', '0.0.0.0:0', '--token', 'abc']);
  assert.is(short.code, 2, short.stderr);
  assert.match(short.stderr, /--token .*too short/);
  const bad = await runBriefly(['--store', storeRoot, 'serve', '--listen', 'nonsense']);
  assert.is(bad.code, 2, bad.stderr);
});

t('with a token (here on 0.0.0.0): no token or a wrong one is 401 with WWW-Authenticate; the right bearer token or basic password is 200', async () => {
  const token = 'k7Q2-secret-token-Xy9';
  const s = await startServe(storeRoot, ['--listen', '0.0.0.0:0', '--token', token]);
  try {
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Bearer ${token}x` },
      { authorization: `Basic ${Buffer.from(`u:${token.slice(1)}`).toString('base64')}` }, { authorization: token }];
    for (const headers of wrong) {
      const a = await get(url, '/', headers);
      assert.is(a.status, 401, JSON.stringify(headers));
      assert.match(String(a.headers['www-authenticate']), /Basic realm="datamover"/);
      assert.match(String(a.headers['www-authenticate']), /Bearer/);
      const f = await get(url, raw('empty.txt'), headers);
      assert.is(f.status, 401);
    }
    assert.is((await get(url, '/api/repos')).status, 401);
    assert.is((await get(url, '/', { authorization: `Bearer ${token}` })).status, 200);
    assert.is((await get(url, '/api/repos', { authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}` })).status, 200);
    const file = await get(url, raw('unicode/emoji-🚀.txt'), { authorization: `Bearer ${token}` });
    assert.is(file.body.toString(), 'rocket');
  } finally {
    assert.is(await s.stop(), 0);
  }
  const fromEnv = await startServe(storeRoot, ['--listen', '127.0.0.1:0'], { DATAMOVER_SERVE_TOKEN: token });
  try {
    assert.is((await get(fromEnv.url, '/')).status, 401);
    assert.is((await get(fromEnv.url, '/', { authorization: `Bearer ${token}` })).status, 200);
  } finally {
    await fromEnv.stop();
  }
});

t('without a token, a request addressed to another host name (DNS rebinding) is 403; loopback names are answered', async () => {
  const port = new URL(served.url).port;
  for (const host of [`evil.example:${port}`, 'evil.example', `localhost.evil.example:${port}`]) {
    const a = await get(served.url, raw('unicode/emoji-🚀.txt'), { host });
    assert.is(a.status, 403, host);
    assert.not.match(a.body.toString(), 'rocket');
  }
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) assert.is((await get(served.url, '/', { host })).status, 200, host);
});

t('path escapes and hostile refs are 404s (never a file outside the manifest, never a stack trace)', async () => {
  const b = `/repos/r/bundles/${bundle}`;
  const hostile = [
    `${b}/raw/../../empty.txt`, `${b}/raw/..%2Fempty.txt`, `${b}/raw/sub/%2e%2e/empty.txt`, `${b}/raw/%2e%2e%2fempty.txt`,
    `${b}/raw/big%2Fmulti-chunk.bin`, `${b}/raw/big%2fmulti-chunk.bin`, `${b}/raw//empty.txt`, `${b}/raw/./empty.txt`,
    `${b}/raw/empty.txt%00`, `${b}/raw/empty.txt%00.png`, `${b}/raw/%`, `${b}/raw/%zz`, `${b}/raw/${'x'.repeat(300)}`,
    `${b}/raw/${'a/'.repeat(2100)}x`, `${b}/raw/%2Fetc%2Fpasswd`, `${b}/raw/..%5Cempty.txt`, `${b}/tar/..%2F`,
    '/repos/r/bundles/..%2F..%2Fformat.json/raw/empty.txt', '/repos/r/bundles/%2e%2e/tree/', `/repos/r/bundles/${'A'.repeat(200)}/raw/empty.txt`,
    '/repos/r/bundles/latest%00/raw/empty.txt', `/repos/..%2Fr/bundles/${bundle}/raw/empty.txt`, '/repos/%2e%2e/', '/repos/.r/',
    '/../../../etc/passwd', '/static/../format.json', '/format.json', `/api/repos/r/bundles/${bundle}/tree?path=..%2Fformat.json`,
    `/api/repos/r/bundles/${bundle}/tree?path=%2e%2e`, `/api/repos/r/bundles/${bundle}/tree?path=empty.txt%00`,
    `/api/repos/r/bundles/${bundle}/tree?path=sub//empty-too`, '/api/repos/..%2Fr/bundles', `${b}/nonsense/empty.txt`,
  ];
  for (const p of hostile) {
    const a = await get(served.url, p);
    assert.is(a.status, 404, p);
    const text = a.body.toString();
    assert.not.match(text, /\n\s+at /, p);
    assert.not.match(text, /"format":"datamover"/, p);
  }
  const page = await get(served.url, `${b}/raw/..%2Fempty.txt`);
  assert.match(page.headers['content-type'] ?? '', /text\/html/);
  assert.match(page.body.toString(), /NOT_FOUND/);
  const api = await get(served.url, '/api/repos/nope/bundles');
  assert.is(api.status, 404);
  assert.is(JSON.parse(api.body.toString()).error.code, 'NOT_FOUND');
  assert.is((await get(served.url, '/', {}, 'POST')).status, 405);
  assert.is((await get(served.url, `${b}/raw/empty.txt`, {}, 'DELETE')).status, 405);
});

t('pages escape what they show: a repo description and a bundle message with markup come out as text', async () => {
  const repos = (await get(served.url, '/')).body.toString();
  assert.match(repos, '&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.not.match(repos, '<script>');
  const bundles = (await get(served.url, '/repos/r')).body.toString();
  assert.match(bundles, 'first &lt;b&gt;bold&lt;/b&gt;');
  const csp = (await get(served.url, raw('unicode/emoji-🚀.txt'))).headers['content-security-policy'];
  assert.match(String(csp), /sandbox/);
});

t('a damaged chunk is a 502 naming the file; once bytes went out the transfer is cut, never a wrong byte; other files still read', async () => {
  const dsrc = tempDir('serve-damaged-src');
  writeFile(dsrc, 'a/victim.bin', seededBytes(1, 50_000));
  writeFile(dsrc, 'ok.bin', seededBytes(2, 70_000));
  const twoChunks = Buffer.concat([seededBytes(3, 4 * 2 ** 20), seededBytes(1, 50_000)]);
  writeFile(dsrc, 'two/chunks.bin', twoChunks);
  const { root, bundle: id } = await uploadTree(dsrc);
  const store = await openStore(root);
  const at = (await store.blobIndex()).get(sha(seededBytes(1, 50_000)))!;
  const packFile = path.join(root, keys.pack(at.pack));
  const bytes = readFileSync(packFile);
  bytes[at.offset + 999] ^= 0x10;
  writeFileSync(packFile, bytes);

  const s = await startServe(root);
  try {
    const bad = await get(s.url, raw('a/victim.bin', id));
    assert.is(bad.status, 502);
    assert.match(bad.body.toString(), 'a/victim.bin');
    assert.match(bad.body.toString(), 'INTEGRITY');
    assert.not.match(bad.body.toString(), /\n\s+at /);
    const api = await get(s.url, raw('two/chunks.bin', id), { range: `bytes=${4 * 2 ** 20 + 5}-${4 * 2 ** 20 + 10}` });
    assert.is(api.status, 502);
    assert.match(api.body.toString(), 'two/chunks.bin');
    const ok = await get(s.url, raw('ok.bin', id));
    assert.is(ok.status, 200);
    assert.ok(ok.body.equals(seededBytes(2, 70_000)));
    const cut = await get(s.url, raw('two/chunks.bin', id));
    assert.is(cut.status, 200);
    assert.ok(cut.cut, 'the transfer is cut');
    assert.ok(cut.body.length < twoChunks.length);
    assert.ok(cut.body.equals(twoChunks.subarray(0, cut.body.length)), 'what arrived is a prefix of the file');
    const tar = await get(s.url, `/repos/r/bundles/${id}/tar/a`);
    assert.ok(tar.cut || tar.status === 502, 'a tar holding the damaged file is cut or refused');
  } finally {
    await s.stop();
  }
  assert.match(s.stderr(), /a\/victim\.bin/);
});

t('a bundle uploaded by another process while the server runs is served (its packs are found)', async () => {
  const more = tempDir('serve-later-src');
  writeFile(more, 'later/new.bin', seededBytes(77, 300_000));
  const up = cli(['--store', storeRoot, '--json', 'bundle', 'upload', more, '--repo', 'r', '--message', 'later']);
  assert.is(up.code, 0, up.stderr);
  const id = JSON.parse(up.stdout.trim().split('\n').pop()!).bundle as string;
  const a = await get(served.url, raw('later/new.bin', id));
  assert.is(a.status, 200, a.body.toString());
  assert.ok(a.body.equals(seededBytes(77, 300_000)));
  assert.is((await get(served.url, raw('empty.txt'))).status, 200, 'the first bundle still reads');
});

t('labels with history, diffs, timelines filtered by repo and contributor, directory windows: pages and JSON agree; bad queries are 400', async () => {
  const second = tempDir('serve-second-src');
  writeFile(second, 'empty.txt', 'not empty any more');
  writeFile(second, 'added.txt', 'new');
  const up = cli(['--store', storeRoot, '--json', 'bundle', 'upload', second, '--repo', 'r', '--message', 'second']);
  assert.is(up.code, 0, up.stderr);
  const id2 = JSON.parse(up.stdout.trim().split('\n').pop()!).bundle as string;
  assert.is(cli(['--store', storeRoot, 'label', 'set', 'prod', '--repo', 'r', '--bundle', bundle]).code, 0);
  const moved = cli(['--store', storeRoot, '--author', 'Other Person <other@example.com>', 'label', 'set', 'prod', '--repo', 'r', '--bundle', id2]);
  assert.is(moved.code, 0, moved.stderr);
  const json = async (p: string, status = 200) => {
    const a = await get(served.url, p);
    assert.is(a.status, status, `${p}: ${a.body.toString()}`);
    return JSON.parse(a.body.toString());
  };

  const history = (await json('/api/repos/r/labels/prod')).history;
  assert.equal(history.map((h: { bundle: string }) => h.bundle), [id2, bundle]);
  const labelsPage = (await get(served.url, '/repos/r/labels')).body.toString();
  assert.match(labelsPage, 'id="label-prod"');
  assert.match(labelsPage, 'Other Person &lt;other@example.com&gt;');

  const diff = await json(`/api/repos/r/diff?a=${bundle}&b=prod`);
  assert.is(diff.b.id, id2);
  const kinds = new Map<string, string>(diff.changes.map((c: { kind: string; entry: { path: string } }) => [c.entry.path, c.kind]));
  assert.is(kinds.get('added.txt'), 'added');
  assert.is(kinds.get('empty.txt'), 'changed');
  assert.is(kinds.get('big/multi-chunk.bin'), 'removed');
  const diffPage = (await get(served.url, `/repos/r/diff?a=${bundle}&b=prod`)).body.toString();
  assert.match(diffPage, /<tr class="added"><td>added<\/td><td><a href="[^"]+\/file\/added.txt">added.txt<\/a>/);

  const byOther = await json('/api/log?contributor=OTHER@example');
  assert.equal(byOther.records.map((r: { type: string }) => r.type), ['label.set']);
  const one = await json('/api/log?repo=r&limit=1');
  assert.is(one.records.length, 1);
  assert.is(one.more, true);
  assert.is(one.records[0].label, 'prod', 'newest first');
  assert.match((await get(served.url, '/log?contributor=other')).body.toString(), /<td>label.set<\/td>/);
  for (const bad of ['/api/log?limit=0', '/api/log?limit=x', '/api/log?since=yesterday', '/api/readlog?repo=..%2Fr', '/api/repos/r/diff?a=x',
    '/api/repos/r/diff?a=..%2F&b=prod', `/api/repos/r/bundles/${bundle}/tree?path=small&limit=100000`]) {
    assert.is((await get(served.url, bad)).status, 400, bad);
  }
  assert.is((await get(served.url, '/api/repos/r/diff?a=no-such-label&b=prod')).status, 404);
  assert.is((await get(served.url, '/api/repos/r/labels/no-such-label')).status, 404);

  const firstTwo = await json(`/api/repos/r/bundles/${bundle}/tree?path=small%2Fd0&limit=1`);
  assert.is(firstTwo.children.length, 1);
  assert.is(firstTwo.more, true);
  const name = path.posix.basename(firstTwo.children[0].path);
  const next = await json(`/api/repos/r/bundles/${bundle}/tree?path=small/d0&limit=1&after=${encodeURIComponent(name)}`);
  assert.ok(path.posix.basename(next.children[0].path) > name);
});

t('reads through the server land in the read log with the client address', async () => {
  await get(served.url, raw('big/multi-chunk.bin'));
  const r = cli(['--store', storeRoot, 'readlog', '--json', '--repo', 'r']);
  assert.is(r.code, 0, r.stderr);
  const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record').map((l) => l.record);
  const served_ = records.filter((x) => x.type === 'bundle.serve');
  assert.ok(served_.length > 0);
  assert.ok(served_.every((x) => x.client === '127.0.0.1'), JSON.stringify(served_[0]));
  assert.ok(served_.some((x) => x.bundle === bundle && x.files === 1 && x.bytes === 9 * 1024 * 1024 + 12345));
  const before = records.length;
  const file = raw('big/multi-chunk.bin');
  const etag = (await get(served.url, file, {}, 'HEAD')).headers.etag!;
  assert.is((await get(served.url, file, { 'if-none-match': etag })).status, 304);
  assert.is((await get(served.url, file, { range: 'bytes=99999999-' })).status, 416);
  assert.is((await get(served.url, `/repos/r/bundles/${bundle}/tar/unicode`, {}, 'HEAD')).status, 200);
  const after = cli(['--store', storeRoot, 'readlog', '--json', '--repo', 'r']).stdout.trim().split('\n').filter((l) => l.includes('"record"'));
  assert.is(after.length, before, 'a HEAD, a 304 and a 416 read nothing and are not recorded');
  const api = JSON.parse((await get(served.url, '/api/readlog?repo=r&limit=5')).body.toString());
  assert.is(api.records.length, 5);
  assert.is(api.records[0].client, '127.0.0.1');
});

t('a directory as .tar (pax names: unicode, long paths, long link targets) extracts with tar -x to the source subtree', async () => {
  for (const [dir, top] of [['', bundle], ['unicode', 'unicode'], ['deep', 'deep']] as const) {
    const a = await get(served.url, `/repos/r/bundles/${bundle}/tar/${encodedPath(dir)}`);
    assert.is(a.status, 200, dir);
    assert.is(a.headers['content-type'], 'application/x-tar');
    const out = tempDir('serve-tar');
    const x = spawnSync('tar', ['-x', '-C', out], { input: a.body });
    assert.is(x.status, 0, x.stderr.toString());
    assert.equal([...describeTree(path.join(out, top))], [...describeTree(path.join(src, dir))], dir || '(root)');
  }
  mkdirSync(tempDir('serve-tar-none'), { recursive: true });
});

t.run();
