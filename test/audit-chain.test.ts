/**
 * The WAL and the read log are hash-chained (docs/audit.md): `log --verify` and `readlog --verify` (and fsck)
 * exit 4 naming the record that was edited, deleted, swapped, or the deleted newest one; an untouched store
 * verifies clean, also after concurrent label moves and uploads; a store written before chaining verifies as
 * "unchained up to <record>"; signed records verify with the right public key and fail with another.
 */
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { verifyChain } from '../engine/meta/chain-verify.js';
import { appendWal } from '../engine/meta/wal.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { readAll } from '../engine/storage/storage.js';
import { type CliResult, cli, cliAwait, seededBytes, summaryOf, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('audit: the hash-chained WAL and read log');

type Log = 'wal' | 'readlog';
const command = (log: Log) => (log === 'wal' ? 'log' : 'readlog');

/** The record files of repo r's log, oldest first: key (relative to the store) and absolute path. */
function records(store: string, log: Log): { key: string; file: string; id: string }[] {
  const out: { key: string; file: string; id: string }[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(store, rel), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else if (/^[0-9A-Z]{26}\.json$/.test(e.name)) out.push({ key: `${rel}/${e.name}`, file: path.join(store, rel, e.name), id: e.name.slice(0, 26) });
    }
  };
  walk(`${log}/r`);
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

let template: string | undefined;

/** A store with repo r, two uploads labelled l (5 WAL records) and three downloads (6 read-log records). */
function baseStore(): string {
  if (template) return template;
  template = path.join(tempDir('chain-t'), 's');
  const src = tempDir('chain-src');
  writeFile(src, 'a', seededBytes(1, 100));
  assert.is(cli(['--store', template, 'repo', 'create', 'r']).code, 0);
  for (const n of [1, 2]) {
    writeFile(src, 'b', seededBytes(n + 1, 50));
    const up = cli(['--store', template, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
    assert.is(up.code, 0, up.stderr);
  }
  for (let n = 0; n < 3; n++) assert.is(cli(['--store', template, 'bundle', 'download', path.join(tempDir('chain-dl'), 'o'), '--repo', 'r', '--label', 'l']).code, 0);
  return template;
}

function copyOf(store: string): string {
  const copy = path.join(tempDir('chain-c'), 's');
  cpSync(store, copy, { recursive: true });
  return copy;
}

function verify(store: string, log: Log, extra: string[] = []): CliResult {
  return cli(['--store', store, '--json', command(log), '--verify', ...extra]);
}

/** Exit 4, code INTEGRITY, the error line starting with `key` and saying `what`. */
function assertBroken(r: CliResult, key: string, what: RegExp): void {
  assert.is(r.code, 4, r.stderr);
  const summary = summaryOf(r.stdout);
  assert.is(summary.error.code, 'INTEGRITY');
  assert.ok(summary.error.message.startsWith(`${key}: `), `${summary.error.message} names ${key}`);
  assert.match(summary.error.message, what);
  assert.ok(r.stderr.includes(key), r.stderr);
}

/** One byte of the record's `at` (a digit of its milliseconds) changed: still valid JSON, another value. */
function editOneByte(file: string): void {
  const bytes = readFileSync(file);
  const at = bytes.indexOf('"at":"') + '"at":"'.length + 22;
  bytes[at] = bytes[at] === 0x39 ? 0x30 : bytes[at]! + 1;
  writeFileSync(file, bytes);
}

const tampers: { name: string; apply: (recs: ReturnType<typeof records>) => { key: string; what: RegExp } }[] = [
  { name: 'editing one byte of a record', apply: (recs) => { editOneByte(recs[2]!.file); return { key: recs[2]!.key, what: /altered: its hash is/ }; } },
  { name: 'deleting a record', apply: (recs) => { rmSync(recs[2]!.file); return { key: recs[2]!.key, what: /missing, yet .*\/[0-9A-Z]{26}\.json links to it/ }; } },
  {
    name: 'reordering two records (swapping their keys)',
    apply: (recs) => {
      renameSync(recs[1]!.file, `${recs[1]!.file}.tmp`);
      renameSync(recs[2]!.file, recs[1]!.file);
      renameSync(`${recs[1]!.file}.tmp`, recs[2]!.file);
      return { key: recs[1]!.key, what: /damaged: it holds record .* \(renamed, moved or swapped\)/ };
    },
  },
  { name: 'deleting the newest record', apply: (recs) => { rmSync(recs.at(-1)!.file); return { key: recs.at(-1)!.key, what: /missing, yet the chain head .* links to it/ }; } },
];

for (const log of ['wal', 'readlog'] as const) {
  for (const tamper of tampers) {
    t(`${command(log)} --verify: ${tamper.name} is detected, naming the record (exit 4)`, () => {
      const store = copyOf(baseStore());
      const { key, what } = tamper.apply(records(store, log));
      assertBroken(verify(store, log), key, what);
    });
  }
}

t('an untouched store verifies clean: log, readlog and fsck', () => {
  const store = baseStore();
  for (const log of ['wal', 'readlog'] as const) {
    const r = verify(store, log);
    assert.is(r.code, 0, r.stderr);
    const [report] = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'chain');
    assert.equal([report.records, report.chained, report.problems, report.notes, report.unchainedUpTo], [log === 'wal' ? 5 : 6, log === 'wal' ? 5 : 6, [], [], undefined]);
    assert.is(report.tips.length, 1, 'one tip: every record written one after another');
  }
  const fsck = cli(['--store', store, 'fsck']);
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
});

t('fsck reports a broken link as a problem naming the record (exit 4)', () => {
  const store = copyOf(baseStore());
  const recs = records(store, 'readlog');
  rmSync(recs[3]!.file);
  const r = cli(['--store', store, 'fsck']);
  assert.is(r.code, 4, r.stdout);
  assert.ok(r.stdout.includes(`problem\tread log chain of r\t${recs[3]!.key}: missing`), r.stdout);
});

t('a deleted tail with a rewritten head passes alone, and fails against a tip kept outside the store (--tip)', () => {
  const store = copyOf(baseStore());
  const report = JSON.parse(verify(store, 'wal').stdout.trim().split('\n')[0]!);
  const saved = report.tips.map((l: { id: string; sha256: string }) => `${l.id}:${l.sha256}`) as string[];
  const recs = records(store, 'wal');
  const newest = recs.at(-1)!;
  const { prev } = JSON.parse(readFileSync(newest.file, 'utf8'));
  rmSync(newest.file);
  writeFileSync(path.join(store, 'wal/r/chain-head.json'), JSON.stringify({ tips: prev, updated: new Date().toISOString() }));
  assert.is(verify(store, 'wal').code, 0, 'what the store alone cannot show');
  assertBroken(verify(store, 'wal', ['--repo', 'r', ...saved.flatMap((tip) => ['--tip', tip])]), newest.key, /missing, yet the tip kept outside the store links to it/);
  const usage = cli(['--store', store, 'log', '--verify', '--tip', saved[0]!]);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /--tip: give the --repo/);
  const malformed = cli(['--store', store, 'log', '--verify', '--repo', 'r', '--tip', 'abc']);
  assert.is(malformed.code, 2);
  assert.match(malformed.stderr, /--tip "abc": expected <record id>:<sha256>/);
});

t('a store written before chaining verifies as "unchained up to <record>"; its newest record anchors the chain', () => {
  const store = copyOf(baseStore());
  for (const log of ['wal', 'readlog'] as const) {
    rmSync(path.join(store, log, 'r', 'chain-head.json'));
    for (const rec of records(store, log)) {
      const { prev: _prev, ...old } = JSON.parse(readFileSync(rec.file, 'utf8'));
      writeFileSync(rec.file, `${JSON.stringify(old)}\n`);
    }
  }
  const newestOld = records(store, 'wal').at(-1)!;
  const old = cli(['--store', store, 'log', '--verify']);
  assert.is(old.code, 0, old.stderr);
  assert.match(old.stdout, new RegExp(`ok\tr\t5 records, 0 chained; unchained up to ${newestOld.key}\n`));
  assert.match(cli(['--store', store, 'readlog', '--verify']).stdout, /6 records, 0 chained; unchained up to readlog\/r\//);
  // The first chained record links to the newest unchained one: from then on, deleting it is detected.
  assert.is(cli(['--store', store, 'label', 'set', 'm', '--repo', 'r', '--bundle', 'l']).code, 0);
  const chained = cli(['--store', store, 'log', '--verify']);
  assert.match(chained.stdout, new RegExp(`6 records, 1 chained; unchained up to ${newestOld.key}\n`));
  rmSync(newestOld.file);
  assertBroken(verify(store, 'wal'), newestOld.key, /missing, yet wal\/r\/[0-9A-Z]{26}\.json links to it/);
});

t('a record without a link after the chain began, a damaged head and a missing head are broken links', () => {
  const store = copyOf(baseStore());
  const recs = records(store, 'wal');
  const { prev: _prev, ...unlinked } = JSON.parse(readFileSync(recs[3]!.file, 'utf8'));
  writeFileSync(recs[3]!.file, `${JSON.stringify(unlinked)}\n`);
  assertBroken(verify(store, 'wal'), recs[3]!.key, /no chain link, yet the chain began before it/);
  const head = path.join(store, 'readlog/r/chain-head.json');
  writeFileSync(head, '{"tips":"none"}');
  assertBroken(verify(store, 'readlog'), 'readlog/r/chain-head.json', /the chain head is damaged/);
  rmSync(head);
  assertBroken(verify(store, 'readlog'), 'readlog/r/chain-head.json', /the chain head is missing/);
  // A record put in later, unlinked and without a link of its own: not part of the chain.
  const store2 = copyOf(baseStore());
  const forged = { ...unlinked, id: '7ZZZZZZZZZZZZZZZZZZZZZZZZZ' };
  writeFileSync(path.join(store2, 'wal/r/7ZZZZZZZZZZZZZZZZZZZZZZZZZ.json'), JSON.stringify(forged));
  assertBroken(verify(store2, 'wal'), 'wal/r/7ZZZZZZZZZZZZZZZZZZZZZZZZZ.json', /no chain link, yet the chain began before it/);
});

t('the hash covers every field but sig, those this version does not know included (a later `principal`)', async () => {
  const storage = await withRepo(new MemoryStorage('memory://chain'));
  const first = await appendWal(storage, 'label.set', 'r', who, { label: 'l', principal: { kind: 'local', uid: 1000 } });
  await appendWal(storage, 'label.set', 'r', who, { label: 'l' });
  assert.equal((await verifyChain(storage, 'wal', 'r')).problems, []);
  const key = `wal/r/${first.id}.json`;
  const stored = JSON.parse((await readAll(storage, key)).toString());
  assert.is(stored.principal.uid, 1000, 'stored as written');
  await storage.put(key, Buffer.from(JSON.stringify({ ...stored, principal: { kind: 'local', uid: 0 } })));
  assert.match((await verifyChain(storage, 'wal', 'r')).problems[0]!.detail, /^altered/);
  await storage.put(key, Buffer.from(JSON.stringify({ ...stored, sig: 'not covered' })));
  assert.equal((await verifyChain(storage, 'wal', 'r')).problems, [], 'sig alone is not hashed (signatures are checked with keys)');
});

t('2 × 50 concurrent label moves and 2 concurrent uploads leave a chain that verifies clean', async () => {
  const root = path.join(tempDir('chain-conc'), 's');
  const src = (n: number) => {
    const dir = tempDir(`chain-conc-src${n}`);
    for (let i = 0; i < 20; i++) writeFile(dir, `f${i}`, seededBytes(n * 100 + i, 20_000));
    return dir;
  };
  assert.is(cli(['--store', root, 'repo', 'create', 'r']).code, 0);
  assert.is(cli(['--store', root, 'bundle', 'upload', src(0), '--repo', 'r', '--label', 'base']).code, 0);
  const uploads = [1, 2].map((n) => cliAwait(['--store', root, 'bundle', 'upload', src(n), '--repo', 'r', '--label', `up${n}`]));
  // Two writers, each with its own storage (so their head updates race through compare-and-swap), 50 moves each.
  const movers = [0, 1].map(async () => {
    const repo = (await openStore(root)).repo('r');
    await Promise.all(Array.from({ length: 50 }, (_, i) => repo.setLabel(`m${i % 10}`, 'base', who)));
  });
  await Promise.all(movers);
  for (const up of await Promise.all(uploads)) assert.is(up.code, 0, up.stderr);
  const r = verify(root, 'wal');
  assert.is(r.code, 0, r.stderr);
  const [report] = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'chain');
  assert.ok(report.records >= 2 + 100 + 4, `${report.records} records`);
  assert.equal([report.chained, report.problems, report.notes], [report.records, [], []]);
  const fsck = cli(['--store', root, 'fsck']);
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
});

/** An ed25519 key pair written as PEM files: private (PKCS#8) and public (SPKI). */
function keyPair(tag: string): { priv: string; pub: string } {
  const dir = tempDir(`chain-key-${tag}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const priv = path.join(dir, 'key.pem');
  const pub = path.join(dir, 'key.pub.pem');
  writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { priv, pub };
}

t('signed records verify with the right public key, and fail with another naming the first record', () => {
  const a = keyPair('a');
  const b = keyPair('b');
  const store = path.join(tempDir('chain-sign'), 's');
  const src = tempDir('chain-sign-src');
  writeFile(src, 'f', seededBytes(7, 1000));
  assert.is(cli(['--store', store, '--sign-key', a.priv, 'repo', 'create', 'r']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'], { DATAMOVER_SIGN_KEY: a.priv }).code, 0);
  assert.is(cli(['--store', store, '--sign-key', a.priv, 'bundle', 'download', path.join(tempDir('chain-sign-dl'), 'o'), '--repo', 'r', '--label', 'l']).code, 0);
  for (const log of ['wal', 'readlog'] as const) {
    const ok = cli(['--store', store, command(log), '--verify', '--public-key', a.pub]);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok\tr\t(\d+) records, \1 chained, \1 signed\n/);
    const first = records(store, log)[0]!;
    assertBroken(verify(store, log, ['--public-key', b.pub]), first.key, /signed by key [0-9a-f]{16}, not by [0-9a-f]{16}/);
  }
  // A record written without the key, and one whose signature no longer holds.
  assert.is(cli(['--store', store, 'label', 'set', 'm', '--repo', 'r', '--bundle', 'l']).code, 0);
  const unsigned = records(store, 'wal').at(-1)!;
  assertBroken(verify(store, 'wal', ['--public-key', a.pub]), unsigned.key, /not signed/);
  const recs = records(store, 'wal');
  const signed = JSON.parse(readFileSync(recs[0]!.file, 'utf8'));
  writeFileSync(recs[0]!.file, JSON.stringify({ ...signed, sig: JSON.parse(readFileSync(recs[1]!.file, 'utf8')).sig }));
  assertBroken(verify(store, 'wal', ['--public-key', a.pub]), recs[0]!.key, /signature by key [0-9a-f]{16} does not hold/);
});

t('--sign-key and --public-key that are not ed25519 keys, or cannot be read, are usage errors naming the flag', () => {
  const store = baseStore();
  const dir = tempDir('chain-badkey');
  const rsa = path.join(dir, 'rsa.pem');
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cases: [string[], RegExp][] = [
    [['--sign-key', rsa, 'label', 'set', 'x', '--repo', 'r', '--bundle', 'l'], /--sign-key .*rsa\.pem: a rsa key, not ed25519/],
    [['--sign-key', path.join(dir, 'none'), 'label', 'set', 'x', '--repo', 'r', '--bundle', 'l'], /--sign-key .*none: cannot be read/],
    [['log', '--verify', '--public-key', rsa], /--public-key .*rsa\.pem: a rsa key, not ed25519/],
    [['readlog', '--verify', '--public-key', path.join(dir, 'garbage')], /--public-key .*garbage: cannot be read/],
    [['log', '--verify', '--since', '2h'], /--verify walks the whole chain/],
  ];
  writeFileSync(path.join(dir, 'garbage.pem'), 'not a key');
  cases.push([['log', '--verify', '--public-key', path.join(dir, 'garbage.pem')], /--public-key .*garbage\.pem: not a public key in PEM/]);
  for (const [args, message] of cases) {
    const r = cli(['--store', store, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

t.run();
