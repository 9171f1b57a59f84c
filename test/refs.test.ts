/**
 * Bundle refs through the binary: a full id, a unique id prefix, a label and `latest` name the same bundle in
 * every command that takes one, and an ambiguous prefix, a ref that is both a label and an id prefix, and an
 * unknown ref fail with one line naming the ref.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, cli, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('refs: full id, prefix, label, latest in every command taking a bundle');

const commonPrefix = (a: string, b: string) => {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return n;
};

function setup() {
  const store = path.join(tempDir('refs'), 'store');
  const src = tempDir('refs-src');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const ids: string[] = [];
  for (const version of ['one', 'two', 'three']) {
    writeFile(src, 'v.txt', version);
    const up = run('--json', 'bundle', 'upload', src, '--repo', 'r', ...(version === 'one' ? ['--label', 'v1'] : []));
    assert.is(up.code, 0, up.stderr);
    ids.push(summaryOf(up.stdout).bundle as string);
  }
  const [a, b, c] = ids as [string, string, string];
  const shared = commonPrefix(a, b);
  assert.ok(shared >= 6, `bundles made seconds apart share at least 6 leading characters: ${a} ${b}`);
  const uniqueB = b.slice(0, Math.max(6, shared + 1, commonPrefix(b, c) + 1));
  const uniqueA = a.slice(0, Math.max(6, shared + 1, commonPrefix(a, c) + 1));
  // A label spelled like a prefix of bundle a, pointing at bundle b: the ref names two bundles.
  assert.is(run('label', 'set', uniqueA, '--repo', 'r', '--bundle', b).code, 0);
  return { store, run, a, b, c, ambiguous: a.slice(0, shared), uniqueB, both: uniqueA };
}

/** Each command taking a bundle: its arguments for `ref`, and the bundle id its summary says it used. */
interface Command { name: string; args: (ref: string, s: ReturnType<typeof setup>) => string[]; used: (summary: Record<string, unknown>) => unknown }

const commands: Command[] = [
  { name: 'bundle download', args: (ref) => ['bundle', 'download', path.join(tempDir('refs-dl'), 'out'), '--repo', 'r', '--bundle', ref], used: (s) => s.bundle },
  { name: 'bundle files', args: (ref) => ['bundle', 'files', '--repo', 'r', '--bundle', ref], used: (s) => s.bundle },
  { name: 'bundle get', args: (ref) => ['bundle', 'get', ref, '--repo', 'r'], used: (s) => (s.bundle as { id: string }).id },
  { name: 'bundle diff (a)', args: (ref, s) => ['bundle', 'diff', ref, s.c, '--repo', 'r'], used: (s) => s.a },
  { name: 'bundle diff (b)', args: (ref, s) => ['bundle', 'diff', s.c, ref, '--repo', 'r'], used: (s) => s.b },
  { name: 'bundle verify', args: (ref) => ['bundle', 'verify', '--repo', 'r', '--bundle', ref], used: (s) => s.bundle },
  { name: 'label set --bundle', args: (ref) => ['label', 'set', 'picked', '--repo', 'r', '--bundle', ref], used: (s) => (s.label as { bundle: string }).bundle },
];

/** `bundle update --from`: the directory first holds the bundle the ref should name. */
function update(s: ReturnType<typeof setup>, ref: string, holds: string): CliResult {
  const dest = path.join(tempDir('refs-up'), 'out');
  assert.is(s.run('bundle', 'download', dest, '--repo', 'r', '--bundle', holds).code, 0);
  return s.run('--json', 'bundle', 'update', dest, '--repo', 'r', '--bundle', s.c, '--from', ref);
}

const kinds = (s: ReturnType<typeof setup>) => [
  { kind: 'full id', ref: s.a, expected: s.a },
  { kind: 'unique prefix', ref: s.uniqueB, expected: s.b },
  { kind: 'label', ref: 'v1', expected: s.a },
  { kind: 'latest', ref: 'latest', expected: s.c },
];

const failures = (s: ReturnType<typeof setup>) => [
  { kind: 'ambiguous prefix', ref: s.ambiguous, code: 2, names: [s.a, s.b, 'ambiguous'] },
  { kind: 'label and id prefix', ref: s.both, code: 2, names: ['both', s.a, s.b] },
  { kind: 'unknown ref', ref: 'nosuch', code: 1, names: ['not found'] },
];

function assertOneLineFailure(r: CliResult, code: number, ref: string, names: string[], what: string): void {
  assert.is(r.code, code, `${what}: exit code (${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, `${what}: one line: ${r.stderr}`);
  for (const name of [`"${ref}"`, ...names]) assert.ok(lines[0]!.includes(name), `${what}: ${lines[0]} names ${name}`);
}

t('every ref kind names the same bundle in every command', () => {
  const s = setup();
  for (const { kind, ref, expected } of kinds(s)) {
    for (const c of commands) {
      const r = s.run('--json', ...c.args(ref, s));
      assert.is(r.code, 0, `${c.name} ${kind}: ${r.stderr}`);
      assert.is(c.used(summaryOf(r.stdout)), expected, `${c.name} with ${kind} ${ref}`);
    }
    const r = update(s, ref, expected);
    assert.is(r.code, 0, `bundle update --from ${kind}: ${r.stderr}`);
    assert.is(summaryOf(r.stdout).from, expected, `bundle update --from ${kind} ${ref}`);
  }
});

t('an ambiguous prefix, a label that is also an id prefix and an unknown ref fail in one line naming the ref', () => {
  const s = setup();
  for (const { kind, ref, code, names } of failures(s)) {
    for (const c of commands) assertOneLineFailure(s.run(...c.args(ref, s)), code, ref, names, `${c.name} ${kind}`);
    const dest = tempDir('refs-up-fail');
    assertOneLineFailure(s.run('bundle', 'update', dest, '--repo', 'r', '--bundle', s.c, '--from', ref), code, ref, names, `bundle update --from ${kind}`);
  }
});

t('--label still names a label only, and --bundle with --label is refused', () => {
  const s = setup();
  const r = s.run('--json', 'bundle', 'files', '--repo', 'r', '--label', 'v1');
  assert.is(r.code, 0, r.stderr);
  assert.is(summaryOf(r.stdout).bundle, s.a);
  assert.is(s.run('bundle', 'files', '--repo', 'r', '--label', s.uniqueB).code, 1, 'an id prefix is no label');
  assert.is(s.run('bundle', 'files', '--repo', 'r', '--label', 'v1', '--bundle', s.a).code, 2);
});

t('latest in a repo without a committed bundle is NOT_FOUND naming the ref', () => {
  const store = path.join(tempDir('refs-empty'), 'store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  assertOneLineFailure(cli(['--store', store, 'bundle', 'get', 'latest', '--repo', 'r']), 1, 'latest', ['no committed bundle'], 'get latest');
});

t.run();
