/**
 * Answers a script can trust, through the built binary: --quiet hides progress only, --version, help of a
 * subcommand, one error prefix, a --json usage error ends with its summary line, label list --prefix, and
 * content ids in bundle files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, repoRoot, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('answers: what a script reads from the binary');

/** A store with repo `r`, bundle labelled `l` (three files, one of two chunks), and labels `l`, `prod-a`, `prod-b`. */
function fixture() {
  const store = path.join(tempDir('ans'), 's');
  const src = tempDir('ans-src');
  writeFile(src, 'a.txt', 'alpha');
  writeFile(src, 'dir/b.bin', seededBytes(7, 5 * 1024 * 1024)); // two 4 MiB chunks
  writeFile(src, 'empty', '');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r', '--description', 'answers').code, 0);
  const up = run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l');
  assert.is(up.code, 0, up.stderr);
  const bundle = summaryOf(up.stdout).bundle as string;
  for (const label of ['prod-a', 'prod-b']) assert.is(run('label', 'set', label, '--repo', 'r', '--bundle', bundle).code, 0);
  return { store, src, run, bundle };
}

t('--quiet hides progress, never results: every listing and show prints what it prints without it', () => {
  const { run, bundle } = fixture();
  const commands = [
    ['repo', 'list'], ['repo', 'get', 'r'], ['bundle', 'list', '--repo', 'r'], ['bundle', 'get', 'l', '--repo', 'r'],
    ['label', 'list', '--repo', 'r'], ['label', 'get', 'l', '--repo', 'r'], ['label', 'history', 'l', '--repo', 'r'],
    ['context', 'list'], ['fsck'], ['bundle', 'verify', '--repo', 'r', '--label', 'l'],
  ];
  for (const args of commands) {
    const loud = run(...args);
    const quiet = run('--quiet', ...args);
    assert.is(quiet.code, 0, `${args.join(' ')}: ${quiet.stderr}`);
    assert.ok(quiet.stdout.trim().length > 0, `${args.join(' ')} --quiet prints its result`);
    assert.is(quiet.stdout, loud.stdout, `${args.join(' ')}: the same result with and without --quiet`);
  }
  assert.ok(run('--quiet', 'bundle', 'list', '--repo', 'r').stdout.includes(bundle));
});

t('--version and version print package.json\'s version; version --json a summary holding it', () => {
  const want = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  for (const args of [['--version'], ['version'], ['-V']]) {
    const r = cli(args);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${want}\n`, args.join(' '));
  }
  const json = cli(['--json', 'version']);
  assert.is(json.code, 0, json.stderr);
  assert.is(summaryOf(json.stdout).version, want);
});

t('help bundle upload shows the upload help, required options marked; help of no such command exits 2', () => {
  const r = cli(['help', 'bundle', 'upload']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: datamover bundle upload /);
  assert.match(r.stdout, /--repo <repo> +repo \(required\)/);
  assert.not.match(r.stdout, /--message.*\(required\)/);
  assert.is(cli(['bundle', 'upload', '--help']).stdout, r.stdout, 'the same as --help');
  assert.match(cli(['help', 'bundle']).stdout, /^Usage: datamover bundle \[options\] \[command\]/);
  const bad = cli(['help', 'bundle', 'nope']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^datamover: error: .*bundle nope/);
});

t('commander\'s errors and ours share one prefix; under --json a usage error still ends with the summary line', () => {
  const cases = [['bundle', 'upload', 'x'], ['--bogus'], ['bundle', 'list', '--repo', 'r', 'extra'], ['nosuch']];
  for (const args of cases) {
    const r = cli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^datamover: error: /, args.join(' '));
    assert.not.match(r.stderr, /error: error:/);
    const json = cli(['--json', ...args]);
    assert.is(json.code, 2);
    const summary = summaryOf(json.stdout);
    assert.equal([summary.type, summary.ok, summary.exitCode, summary.error.code], ['summary', false, 2, 'USAGE'], `${args.join(' ')}: ${json.stdout}`);
  }
  const ours = cli(['--store', tempDir('ans-e'), '--workers', '0', 'repo', 'list']);
  assert.is(ours.code, 2);
  assert.match(ours.stderr, /^datamover: error: --workers/);
});

t('label list --prefix lists the labels whose names start with it; a prefix no name can have exits 2', () => {
  const { run } = fixture();
  const names = (r: { stdout: string }) => r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  assert.equal(names(run('label', 'list', '--repo', 'r')), ['l', 'prod-a', 'prod-b']);
  assert.equal(names(run('label', 'list', '--repo', 'r', '--prefix', 'prod-')), ['prod-a', 'prod-b']);
  assert.equal(names(run('label', 'list', '--repo', 'r', '--prefix', 'x')), []);
  const json = run('--json', 'label', 'list', '--repo', 'r', '--prefix', 'prod-b');
  assert.equal(summaryOf(json.stdout).labels.map((l: { name: string }) => l.name), ['prod-b']);
  assert.is(run('label', 'list', '--repo', 'r', '--prefix', '../x').code, 2);
});

t('bundle files shows each file\'s content id: SHA-256 over "<chunk hash> <length>\\n" per chunk, in text and --json', () => {
  const { run, src } = fixture();
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const idOf = (chunks: Buffer[]) => sha(chunks.map((c) => `${sha(c)} ${c.length}\n`).join(''));
  const big = readFileSync(path.join(src, 'dir/b.bin'));
  const want: Record<string, string> = {
    'a.txt': idOf([Buffer.from('alpha')]), 'dir/b.bin': idOf([big.subarray(0, 4 << 20), big.subarray(4 << 20)]), empty: idOf([]),
  };
  const text = run('bundle', 'files', '--repo', 'r', '--label', 'l');
  assert.is(text.code, 0, text.stderr);
  assert.equal(text.stdout.trim().split('\n'), [
    `file\t5\t${want['a.txt']}\ta.txt`, `dir\t0\t-\tdir`, `file\t${big.length}\t${want['dir/b.bin']}\tdir/b.bin`, `file\t0\t${want.empty}\tempty`,
  ]);
  const json = run('--json', 'bundle', 'files', '--repo', 'r', '--label', 'l');
  const entries = json.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'file').map((l) => l.entry);
  assert.equal(Object.fromEntries(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.contentId])), want);
  assert.is(entries.find((e) => e.type === 'dir').contentId, undefined);
});

t.run();
