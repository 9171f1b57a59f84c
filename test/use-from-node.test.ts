/**
 * The README's "Use from Node" example, taken from the README itself so the two cannot drift, run from a
 * separate package that depends on the built project: type-checked against the published declarations, then
 * run with node.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';

const t = suite('README: Use from Node, from another package');

/** The first ```js block of the README section `heading`. */
function readmeExample(heading: string): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`## ${heading}\n`));
  const block = /```js\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 4)));
  assert.ok(block, `README section "${heading}" has a js code block`);
  return block![1]!;
}

/**
 * A package depending on datamover as `file:` dependencies are installed (a link into node_modules), which
 * needs no registry: the example resolves `datamover` through the project's package.json `exports`.
 */
function consumerPackage(files: Record<string, string>): string {
  const dir = tempDir('use-from-node');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'datamover-consumer', private: true, type: 'module', dependencies: { datamover: `file:${repoRoot}` },
  }));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(repoRoot, path.join(dir, 'node_modules', 'datamover'), 'dir');
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
      allowJs: true, checkJs: true, skipLibCheck: true,
      types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    },
    files: Object.keys(files),
  }));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const tsc = (dir: string) => spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
  { cwd: dir, encoding: 'utf8' });

t('the example type-checks and round-trips a file through a store', () => {
  const dir = consumerPackage({ 'example.js': readmeExample('Use from Node') });
  const checked = tsc(dir);
  assert.is(checked.status, 0, `tsc --noEmit: ${checked.stdout}${checked.stderr}`);
  const run = spawnSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0]!, /^bundle [0-9A-HJKMNP-TV-Z]{26}: 1 file\(s\)$/);
  assert.is(lines[1], 'hello from Node', 'the downloaded file holds what was uploaded');
  assert.match(lines[2]!, /^NOT_FOUND: .*no-such-label/);
  assert.is(lines.length, 3, run.stdout);
});

t('the declarations are what the check uses: a misspelt option fails it', () => {
  const wrong = readmeExample('Use from Node').replace('photos.upload({ source,', 'photos.upload({ sourceDir: source,');
  assert.ok(wrong.includes('sourceDir'), 'the example still uploads with a `source` option');
  const checked = tsc(consumerPackage({ 'example.js': wrong }));
  assert.is.not(checked.status, 0, 'tsc must refuse an option the types do not have');
  assert.ok(`${checked.stdout}`.includes('sourceDir'), checked.stdout);
});

t.run();
