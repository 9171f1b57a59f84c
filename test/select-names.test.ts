/**
 * `--include`/`--exclude` against hostile names, through the binary: names with a newline or with bytes that
 * are not UTF-8 are selected by directory paths and globs like any other; an include that selects nothing is a
 * warning naming it and exit 3, never a silent empty download; a leading `!` in an include is a literal
 * character, never a negation.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, tempDir, writeFile } from './helpers.js';

const t = suite('subset selection: names with newlines and raw bytes, includes that match nothing');

/** Every file under `root`, as relative paths with raw bytes decoded as latin-1 (so any name compares). */
function files(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** A store with repo r and label t: sub/"x\ny", sub/plain, "a\nb", "t\n.tmp", "!imp", "g[1]", a raw-byte name. */
function fixture(): { store: string; dl: (args: string[]) => { code: number; stderr: string; dest: string } } {
  const store = path.join(tempDir('sel-store'), 's');
  const src = tempDir('sel-src');
  writeFile(src, 'sub/x\ny', '1');
  writeFile(src, 'sub/plain', '2');
  writeFile(src, 'a\nb', '3');
  writeFile(src, 't\n.tmp', '4');
  writeFile(src, '!imp', '5');
  writeFile(src, 'g[1]', '7');
  mkdirSync(path.join(src, 'raw'));
  writeFileSync(Buffer.from(`${src}/raw/caf\xe9`, 'latin1'), '6'); // $'caf\xe9': not UTF-8
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, '--quiet', 'bundle', 'upload', src, '--repo', 'r', '--label', 't']);
  assert.is(up.code, 0, up.stderr);
  const dl = (args: string[]) => {
    const dest = path.join(tempDir('sel-dest'), 'o');
    const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 't', ...args]);
    return { code: r.code, stderr: r.stderr, dest };
  };
  return { store, dl };
}

const all = ['!imp', 'a\nb', 'g[1]', 'raw/caf\udce9', 'sub/plain', 'sub/x\ny', 't\n.tmp'];
/** files() sees the raw name as the lone surrogate Node gives it. */
const seen = (dest: string) => files(dest).map((f) => f.replace('caf\ufffd', 'caf\udce9'));

t('a directory include selects every name under it, newlines and raw bytes included', () => {
  const { dl } = fixture();
  const sub = dl(['--include', 'sub']);
  assert.is(sub.code, 0, sub.stderr);
  assert.equal(seen(sub.dest), ['sub/plain', 'sub/x\ny']);
  const raw = dl(['--include', 'raw/']);
  assert.is(raw.code, 0, raw.stderr);
  assert.equal(seen(raw.dest), ['raw/caf\udce9']);
});

t('--include . and --include ** select the whole bundle', () => {
  const { dl } = fixture();
  for (const p of ['.', '**', './']) {
    const r = dl(['--include', p]);
    assert.is(r.code, 0, `${p}: ${r.stderr}`);
    assert.equal(seen(r.dest), all, p);
  }
});

t('globs match newlines and raw bytes in names: *, sub/*, *.tmp, raw/caf?', () => {
  const { dl } = fixture();
  const star = dl(['--include', '*']);
  assert.is(star.code, 0, star.stderr);
  assert.equal(seen(star.dest), all);
  const subStar = dl(['--include', 'sub/*']);
  assert.equal(seen(subStar.dest), ['sub/plain', 'sub/x\ny']);
  const q = dl(['--include', 'raw/caf?']);
  assert.is(q.code, 0, q.stderr);
  assert.equal(seen(q.dest), ['raw/caf\udce9']);
  const rawStar = dl(['--include', 'raw/*']);
  assert.equal(seen(rawStar.dest), ['raw/caf\udce9']);
  const ex = dl(['--exclude', '*.tmp']);
  assert.is(ex.code, 0, ex.stderr);
  assert.equal(seen(ex.dest), all.filter((f) => f !== 't\n.tmp'));
  const exNl = dl(['--exclude', 'sub/x*']);
  assert.equal(seen(exNl.dest), all.filter((f) => f !== 'sub/x\ny'));
});

t('an include that matches nothing: an error naming it, exit 2, nothing restored (the others neither)', () => {
  const { dl } = fixture();
  const none = dl(['--include', 'nosuch', '--include', 'sub']);
  assert.is(none.code, 2, none.stderr);
  assert.match(none.stderr, /--include "nosuch": matches no entry/);
  assert.is(none.stderr.trim().split('\n').length, 1, none.stderr);
  assert.not.ok(existsSync(none.dest), 'nothing restored, not even the destination made');
  const glob = dl(['--include', '*.nothing']);
  assert.is(glob.code, 2);
  assert.match(glob.stderr, /\*\.nothing/);
});

t('a non-UTF-8 name on the command line (U+FFFD): exit 2 with a hint to use a glob', () => {
  const { store } = fixture();
  const dest = path.join(tempDir('sel-dest'), 'o');
  const r = spawnSync('bash', ['-c', `exec "$0" "$1" --store "$2" bundle download "$3" --repo r --label t --include $'raw/caf\\xe9'`,
    process.execPath, cliPath, store, dest], { encoding: 'utf8', env: { ...process.env, DATAMOVER_HOME: tempDir('sel-home') } });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /matches no entry/);
  assert.match(r.stderr, /not UTF-8 cannot be given on the command line; use a glob such as raw\/caf\?/);
});

t('an include is also literal: --include !imp selects only the file named !imp (no negation), g[1] the file g[1]', () => {
  const { dl } = fixture();
  const r = dl(['--include', '!imp']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(seen(r.dest), ['!imp']);
  const g = dl(['--include', '!sub']);
  assert.is(g.code, 2, 'a negated include that names nothing is not a selection of everything else');
  assert.not.ok(existsSync(path.join(g.dest, 'sub')));
  const bracket = dl(['--include', 'g[1]']);
  assert.is(bracket.code, 0, bracket.stderr);
  assert.equal(seen(bracket.dest), ['g[1]'], 'a name holding glob characters selects itself');
});

t.run();
