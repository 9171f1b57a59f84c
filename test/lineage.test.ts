/**
 * Lineage through the built binary: bundles record their inputs and run, `run` executes a pipeline step, and
 * `lineage` answers up and down across repos.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { cli, cliAsync, listFiles, runsIf, summaryOf, tempDir, who, writeFile } from './helpers.js';

const t = suite('lineage: inputs, run, lineage graph');

/** No run identity leaks in from the machine running the tests (a CI job, a pod). */
const NO_JOB = { ARGO_NODE_ID: '', ARGO_WORKFLOW_NAME: '', GITHUB_RUN_ID: '', GITHUB_RUN_ATTEMPT: '', CI_JOB_ID: '', KUBERNETES_SERVICE_HOST: '' };

function dm(store: string, args: string[], env: Record<string, string> = {}) {
  return cli(['--store', store, ...args], { ...NO_JOB, ...env });
}

function ok(store: string, args: string[], env: Record<string, string> = {}) {
  const r = dm(store, args, env);
  assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

function storeWith(...repos: string[]): string {
  const store = tempDir('lineage-store');
  for (const repo of repos) ok(store, ['repo', 'create', repo]);
  return store;
}

const bundleIds = (store: string, repo: string): string[] =>
  summaryOf(ok(store, ['--json', 'bundle', 'list', '--repo', repo]).stdout).bundles.map((b: { id: string }) => b.id);

/** A descriptor as stored (a local store: read directly, to spare a process per look). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const descriptor = (store: string, repo: string, id: string): any => JSON.parse(readFileSync(path.join(store, 'meta/repos', repo, 'bundles', id, 'bundle.json'), 'utf8'));

/** The three-step pipeline raw → features → model, the model step failing once; built once, read by several tests. */
interface Pipeline {
  store: string; raw: string; features: string; model: string;
  modelCommand: string[];
  failed: { code: number; stderr: string; before: string[]; after: string[]; modelBundles: string[] };
}

let built: Pipeline | undefined;

function pipeline(): Pipeline {
  if (built) return built;
  const store = storeWith('raw', 'features', 'model');
  const work = tempDir('lineage-work');
  writeFile(work, 'src/a.csv', 'x,y\n1,2\n3,4\n');
  writeFile(work, 'src/b.csv', 'x,y\n5,6\n');
  const raw = summaryOf(ok(store, ['--json', 'bundle', 'upload', path.join(work, 'src'), '--repo', 'raw', '--label', 'v1', '--run', 'ingest-1']).stdout).bundle;
  const step1 = ok(store, ['--json', 'run', '--input', `raw@v1=${work}/in1`, '--output', `features=${work}/out1:v1`, '--run', 'step-1', '--',
    'sh', '-c', 'cat "$DATAMOVER_INPUT_RAW"/*.csv | tr , " " > "$DATAMOVER_OUTPUT_FEATURES/features.txt"']);
  const features = summaryOf(step1.stdout).outputs[0].bundle;
  // The model step fails while the flag file is missing (and creates it), as a flaky step would.
  const flag = path.join(work, 'flag');
  const modelCommand = ['sh', '-c', `test -f "${flag}" || { touch "${flag}"; exit 3; }; wc -l < "$DATAMOVER_INPUT_0/features.txt" > "$DATAMOVER_OUTPUT_0/model.txt"`];
  const runModel = (runId: string) => dm(store, ['--json', 'run', '--input', `features@v1=${work}/in2`, '--output', `model=${work}/out2:v1`, '--run', runId, '--', ...modelCommand]);
  const before = listFiles(store);
  const first = runModel('step-2-try-1');
  const failed = { code: first.code, stderr: first.stderr, before, after: listFiles(store), modelBundles: bundleIds(store, 'model') };
  const second = runModel('step-2');
  assert.is(second.code, 0, second.stderr);
  built = { store, raw, features, model: summaryOf(second.stdout).outputs[0].bundle, modelCommand, failed };
  return built;
}

t('the failed step commits nothing: its exit status passes through, and only its input read is logged', () => {
  const { failed } = pipeline();
  assert.is(failed.code, 3, failed.stderr);
  assert.match(failed.stderr, /run step-2-try-1: the command exited with status 3; nothing was committed/);
  assert.equal(failed.modelBundles, [], 'no model bundle');
  // The chain head of the read log (a new object when this is the repo's first read) is not a record.
  const added = failed.after.filter((k) => !failed.before.includes(k) && k !== 'readlog/features/chain-head.json');
  assert.equal(failed.before.filter((k) => !failed.after.includes(k)), [], 'nothing removed');
  // Decided: the download of the input is a read like any other and is recorded; nothing else is written.
  // One read: its start and its end record (the read log records both), sharing the read's id.
  assert.is(added.length, 2, `the read's two records added: ${added.join(', ')}`);
  const records = added.map((k) => {
    assert.match(k, /^readlog\/features\/\d{4}-\d{2}-\d{2}\/[0-9A-Z]{26}\.json$/);
    return JSON.parse(readFileSync(path.join(pipeline().store, k), 'utf8'));
  });
  assert.equal(records.map((r) => r.phase).sort(), ['end', 'start']);
  assert.is(records[0].read, records[1].read, 'one read');
  for (const r of records) assert.is(r.run, 'step-2-try-1');
});

t('the model records its inputs, command, exit status, duration and run, in the descriptor and its WAL record', () => {
  const p = pipeline();
  const model = summaryOf(ok(p.store, ['--json', 'bundle', 'get', 'v1', '--repo', 'model']).stdout).bundle; // read as the CLI reads it
  assert.equal(model, descriptor(p.store, 'model', p.model));
  assert.equal(model.inputs, [{ repo: 'features', bundle: p.features }]);
  assert.equal(model.run.id, 'step-2');
  assert.equal(model.run.command, p.modelCommand);
  assert.is(model.run.exitStatus, 0);
  assert.type(model.run.seconds, 'number');
  assert.equal(descriptor(p.store, 'features', p.features).inputs, [{ repo: 'raw', bundle: p.raw }]);
  assert.equal(descriptor(p.store, 'raw', p.raw).run, { id: 'ingest-1' });
  assert.is(descriptor(p.store, 'raw', p.raw).inputs, undefined);
  const records = ok(p.store, ['--json', 'log', '--repo', 'model']).stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record');
  const commit = records.map((r) => r.record).filter((r) => r.type === 'bundle.commit');
  assert.is(commit.length, 1);
  assert.equal(commit[0].inputs, [{ repo: 'features', bundle: p.features }]);
  assert.equal(commit[0].run, model.run);
  assert.match(ok(p.store, ['log', '--repo', 'model']).stdout, new RegExp(`bundle\\.commit\\tmodel\\t${p.model} ".*" inputs=features@${p.features} run=step-2\\t`));
});

t('lineage --up of the model names exactly the bundles it was made from, with their run ids', () => {
  const p = pipeline();
  const graph = summaryOf(ok(p.store, ['--json', 'lineage', 'model@v1', '--up']).stdout);
  assert.is(graph.root, `model@${p.model}`);
  const runs = Object.fromEntries(graph.nodes.map((n: { id: string; run?: { id: string } }) => [n.id, n.run?.id]));
  assert.equal(runs, { [`model@${p.model}`]: 'step-2', [`features@${p.features}`]: 'step-1', [`raw@${p.raw}`]: 'ingest-1' });
  assert.equal(graph.nodes.map((n: { depth: number }) => n.depth), [0, 1, 2]);
  assert.equal(graph.edges, [{ from: `features@${p.features}`, to: `model@${p.model}` }, { from: `raw@${p.raw}`, to: `features@${p.features}` }]);
  for (const n of graph.nodes) assert.equal(n.contributor, { name: 'Test User', email: 'test@example.com' });
  // The default direction is up; the text tree indents each input under what was made from it.
  const text = ok(p.store, ['lineage', `model@${p.model}`]).stdout.trimEnd().split('\n');
  assert.is(text.length, 3, text.join('\n'));
  assert.match(text[0]!, new RegExp(`^model@${p.model}  \\S+  Test User <test@example.com>  run step-2$`));
  assert.match(text[1]!, new RegExp(`^  features@${p.features} .* run step-1$`));
  assert.match(text[2]!, new RegExp(`^    raw@${p.raw} .* run ingest-1$`));
});

t('lineage --down of the raw bundle reaches the model; --depth stops early and says so', () => {
  const p = pipeline();
  const graph = summaryOf(ok(p.store, ['--json', 'lineage', `raw@${p.raw}`, '--down']).stdout);
  assert.equal(graph.nodes.map((n: { id: string }) => n.id), [`raw@${p.raw}`, `features@${p.features}`, `model@${p.model}`]);
  assert.equal(graph.edges, [{ from: `raw@${p.raw}`, to: `features@${p.features}` }, { from: `features@${p.features}`, to: `model@${p.model}` }]);
  const short = summaryOf(ok(p.store, ['--json', 'lineage', 'raw@v1', '--down', '--depth', '1']).stdout);
  assert.equal(short.nodes.map((n: { id: string; truncated?: boolean }) => [n.id, !!n.truncated]), [[`raw@${p.raw}`, false], [`features@${p.features}`, true]]);
  assert.match(ok(p.store, ['lineage', 'raw@v1', '--down', '--depth', '1']).stdout, /run step-1 {2}\(more beyond --depth\)/);
});

t('the read log holds the runs\' reads with their run ids', () => {
  const p = pipeline();
  const lines = ok(p.store, ['--json', 'readlog']).stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record');
  const reads = lines.map((l) => [l.record.repo, l.record.bundle, l.record.type, l.record.run]);
  assert.equal(reads, [
    ['raw', p.raw, 'bundle.download', 'step-1'],
    ['features', p.features, 'bundle.download', 'step-2-try-1'],
    ['features', p.features, 'bundle.download', 'step-2'],
  ]);
  assert.match(ok(p.store, ['readlog', '--repo', 'raw']).stdout, /run=step-1\n$/);
});

const hasDot = spawnSync('dot', ['-V'], { stdio: 'ignore' }).status === 0;
const withDot = runsIf(t, hasDot ? undefined : 'needs Graphviz dot (Debian package graphviz)');

withDot('--dot output parses with Graphviz, labels escaped (quotes, backslashes)', () => {
  const p = pipeline();
  for (const direction of ['--up', '--down']) {
    const ref = direction === '--up' ? 'model@v1' : 'raw@v1';
    const out = ok(p.store, ['lineage', ref, direction, '--dot']).stdout;
    const svg = spawnSync('dot', ['-Tsvg'], { input: out, encoding: 'utf8' });
    assert.is(svg.status, 0, `${svg.stderr}\n${out}`);
    for (const id of [p.raw, p.features, p.model]) assert.ok(svg.stdout.includes(id), `${id} drawn`);
    assert.is((svg.stdout.match(/class="edge"/g) ?? []).length, 2);
  }
  // A contributor named with quotes and backslashes, which DOT reads as its own escapes.
  const store = storeWith('a', 'b');
  const src = tempDir('lineage-odd');
  writeFile(src, 'f', 'f');
  const author = 'Q "uo\\"te\\" \\n \\\\ <q@example.com>';
  ok(store, ['bundle', 'upload', src, '--repo', 'a', '--label', 'v1', '--author', author]);
  ok(store, ['bundle', 'upload', src, '--repo', 'b', '--input', 'a@v1', '--run', 'odd "run" \\ id', '--author', author]);
  const out = ok(store, ['lineage', 'b@latest', '--dot']).stdout;
  const svg = spawnSync('dot', ['-Tsvg'], { input: out, encoding: 'utf8' });
  assert.is(svg.status, 0, `${svg.stderr}\n${out}`);
  assert.ok(svg.stdout.includes('Q &quot;uo\\&quot;te\\&quot; \\n \\\\'), `the name drawn as given:\n${svg.stdout}`);
  assert.ok(svg.stdout.includes('run odd &quot;run&quot; \\ id'));
});

/** Fails with `code`, one stderr line naming `names`, and the store unchanged. */
function assertCleanFailure(store: string, args: string[], code: number, names: string): void {
  const before = listFiles(store);
  const r = dm(store, args);
  assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.includes(names), `${lines[0]} names ${names}`);
  assert.equal(listFiles(store), before, 'nothing written');
}

t('--input with a ref naming nothing, or malformed, is one error naming it; nothing is written or run', () => {
  const store = storeWith('raw', 'out');
  const src = tempDir('lineage-src');
  writeFile(src, 'f', 'f');
  ok(store, ['bundle', 'upload', src, '--repo', 'raw', '--label', 'v1']);
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'out', '--input', 'raw@nope'], 1, '--input raw@nope: ');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'out', '--input', 'nosuch@v1'], 1, '--input nosuch@v1: ');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'out', '--input', 'raw'], 2, '--input "raw"');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'out', '--input', 'raw@'], 2, '--input "raw@"');
  const work = tempDir('lineage-run');
  const marker = path.join(work, 'ran');
  assertCleanFailure(store, ['run', '--input', `raw@nope=${work}/in`, '--output', `out=${work}/o`, '--', 'touch', marker], 1, '--input raw@nope: ');
  assertCleanFailure(store, ['run', '--input', 'raw@v1', '--output', `out=${work}/o`, '--', 'touch', marker], 2, '--input "raw@v1"');
  assertCleanFailure(store, ['run', '--input', `raw@v1=${work}/in`, '--output', `nosuch=${work}/o`, '--', 'touch', marker], 1, 'nosuch');
  assertCleanFailure(store, ['run', '--input', `raw@v1=${work}/x`, '--output', `out=${work}/x/y`, '--', 'touch', marker], 2, 'overlap');
  assert.not.ok(existsSync(marker), 'the command never ran');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'out', '--run', ' '], 2, '--run');
  // A good input is recorded by id, whatever ref named it.
  const b = summaryOf(ok(store, ['--json', 'bundle', 'upload', src, '--repo', 'out', '--input', 'raw@latest', '--input', 'raw@v1']).stdout).bundle;
  assert.equal(descriptor(store, 'out', b).inputs, [{ repo: 'raw', bundle: bundleIds(store, 'raw')[0] }]);
});

t('run passes the command\'s exit status through (signal n as 128+n; 127 when not found) and commits nothing', () => {
  const store = storeWith('out');
  const work = tempDir('lineage-exit');
  const run = (...command: string[]) => dm(store, ['run', '--output', `out=${work}/o`, '--', ...command]);
  const before = listFiles(store);
  assert.is(run('sh', '-c', 'echo partial > "$DATAMOVER_OUTPUT_0/x"; exit 7').code, 7);
  assert.is(run('sh', '-c', 'kill -TERM $$').code, 128 + 15);
  const missing = run('no-such-command-for-datamover');
  assert.is(missing.code, 127);
  assert.match(missing.stderr, /could not be started \(no-such-command-for-datamover: ENOENT\); nothing was committed/);
  assert.equal(listFiles(store), before, 'nothing written');
  // Empty words are the command's own; the run id defaults to a new id when none is given or found.
  const r = dm(store, ['--json', 'run', '--output', `out=${work}/o`, '--', 'sh', '-c', 'test -z "$1" && test -n "$DATAMOVER_RUN_ID"', 'sh', '']);
  assert.is(r.code, 0, r.stderr);
  assert.match(summaryOf(r.stdout).runId, /^[0-9A-Z]{26}$/);
});

t('an output directory gone after the command succeeded is an error naming it; nothing committed', () => {
  const store = storeWith('out', 'other');
  const work = tempDir('lineage-gone');
  const before = listFiles(store);
  const r = dm(store, ['run', '--output', `other=${work}/kept`, '--output', `out=${work}/gone`, '--', 'sh', '-c', 'echo k > "$DATAMOVER_OUTPUT_OTHER/k"; rm -r "$DATAMOVER_OUTPUT_OUT"']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr.trim(), new RegExp(`^datamover: error: --output out=${work}/gone: the command succeeded but left no directory there; nothing was committed$`));
  assert.equal(listFiles(store), before);
});

t('the run id defaults to the job the process runs as (Argo, GitHub Actions, GitLab, Kubernetes pod)', () => {
  const store = storeWith('r');
  const src = tempDir('lineage-env');
  writeFile(src, 'f', 'f');
  const runOf = (env: Record<string, string>) => descriptor(store, 'r', summaryOf(ok(store, ['--json', 'bundle', 'upload', src, '--repo', 'r'], env).stdout).bundle).run;
  assert.equal(runOf({ ARGO_WORKFLOW_NAME: 'wf-x', ARGO_NODE_ID: 'wf-x-123', KUBERNETES_SERVICE_HOST: '10.0.0.1', HOSTNAME: 'wf-x-123-pod' }), { id: 'argo:wf-x/wf-x-123' });
  assert.equal(runOf({ GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' }), { id: 'github:42.2' });
  assert.equal(runOf({ CI_JOB_ID: '7001' }), { id: 'gitlab:7001' });
  assert.equal(runOf({ KUBERNETES_SERVICE_HOST: '10.0.0.1', HOSTNAME: 'train-abc12' }), { id: 'k8s:train-abc12' });
  assert.is(runOf({ HOSTNAME: 'laptop' }), undefined, 'a host name outside Kubernetes is no run');
  const given = dm(store, ['--json', 'bundle', 'upload', src, '--repo', 'r', '--run', 'mine'], { GITHUB_RUN_ID: '42' });
  assert.equal(descriptor(store, 'r', summaryOf(given.stdout).bundle).run, { id: 'mine' });
});

t('bundle commit --session records inputs and run too', () => {
  const store = storeWith('raw', 'split');
  const src = tempDir('lineage-split');
  writeFile(src, 'a', 'a');
  writeFile(src, 'b', 'b');
  const raw = summaryOf(ok(store, ['--json', 'bundle', 'upload', src, '--repo', 'raw']).stdout).bundle;
  const session = ok(store, ['session', 'start', '--repo', 'split']).stdout.trim();
  ok(store, ['bundle', 'upload', src, '--repo', 'split', '--session', session, '--shard', '0/1']);
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'split', '--session', session, '--shard', '0/1', '--input', 'raw@latest'], 2, '--input and --run go on `bundle commit`');
  ok(store, ['bundle', 'commit', '--repo', 'split', '--session', session, '--input', `raw@${raw}`, '--run', 'split-1']);
  const b = descriptor(store, 'split', session);
  assert.equal([b.inputs, b.run], [[{ repo: 'raw', bundle: raw }], { id: 'split-1' }]);
  assert.equal(summaryOf(ok(store, ['--json', 'lineage', `raw@${raw}`, '--down']).stdout).nodes.map((n: { id: string }) => n.id), [`raw@${raw}`, `split@${session}`]);
});

t('a bundle reached twice (a diamond) is one node: the text tree marks the second visit, JSON has each edge once', () => {
  const store = storeWith('a', 'b', 'c', 'd');
  const src = tempDir('lineage-diamond');
  writeFile(src, 'f', 'f');
  const up = (repo: string, ...inputs: string[]) =>
    summaryOf(ok(store, ['--json', 'bundle', 'upload', src, '--repo', repo, ...inputs.flatMap((i) => ['--input', i])]).stdout).bundle as string;
  const a = up('a');
  const [b, c] = [up('b', `a@${a}`), up('c', `a@${a}`)];
  const d = up('d', `b@${b}`, `c@${c}`);
  const text = ok(store, ['lineage', `d@${d}`]).stdout.trimEnd().split('\n');
  assert.equal(text.map((l) => l.replace(/ {2}\S+ {2}Test User <test@example\.com>/, '')), [
    `d@${d}`, `  b@${b}`, `    a@${a}`, `  c@${c}`, `    a@${a}  (repeated, see above)`,
  ]);
  const graph = summaryOf(ok(store, ['--json', 'lineage', `d@${d}`]).stdout);
  assert.is(graph.nodes.length, 4);
  assert.is(graph.edges.length, 4);
});

t('--depth must be a positive integer; --up and --down, --json and --dot exclude each other', () => {
  const store = storeWith('r');
  const src = tempDir('lineage-depth');
  writeFile(src, 'f', 'f');
  ok(store, ['bundle', 'upload', src, '--repo', 'r', '--label', 'v1']);
  for (const bad of ['0', '-1', 'two', '1.5']) assertCleanFailure(store, ['lineage', 'r@v1', '--depth', bad], 2, '--depth');
  assertCleanFailure(store, ['lineage', 'r@v1', '--up', '--down'], 2, '--up or --down');
  assertCleanFailure(store, ['--json', 'lineage', 'r@v1', '--dot'], 2, '--json or --dot');
  assertCleanFailure(store, ['lineage', 'r'], 2, '"r"');
  assertCleanFailure(store, ['lineage', 'r@nope'], 1, 'nope');
  // A bundle without inputs is a graph of one node.
  assert.is(ok(store, ['lineage', 'r@v1']).stdout.trim().split('\n').length, 1);
});

t('a descriptor whose inputs or run are malformed is damaged (INTEGRITY), not trusted', () => {
  const store = storeWith('r');
  const src = tempDir('lineage-bad');
  writeFile(src, 'f', 'f');
  const id = summaryOf(ok(store, ['--json', 'bundle', 'upload', src, '--repo', 'r']).stdout).bundle;
  const file = path.join(store, 'meta/repos/r/bundles', id, 'bundle.json');
  const good = JSON.parse(readFileSync(file, 'utf8'));
  for (const [field, value] of [['inputs', [{ repo: 'r', bundle: 'not-an-id' }]], ['inputs', 'r@v1'], ['run', { command: ['x'] }], ['run', { id: 'x', exitStatus: -1 }]] as const) {
    writeFileSync(file, JSON.stringify({ ...good, [field]: value }));
    const r = dm(store, ['bundle', 'get', id, '--repo', 'r']);
    assert.is(r.code, 4, `${field} ${JSON.stringify(value)}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`field ${field}|input 0`));
  }
});

t('an interrupt during the command reaches it (SIGINT), and nothing is committed even if it then exits 0', async () => {
  const store = storeWith('out');
  const work = tempDir('lineage-int');
  const ready = path.join(work, 'ready');
  const script = `process.on('SIGINT', () => { require('fs').writeFileSync(process.env.DATAMOVER_OUTPUT_0 + '/got-sigint', ''); process.exit(0); });
    require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000);`;
  const before = listFiles(store);
  const child = cliAsync(['--store', store, 'run', '--output', `out=${work}/o`, '--', process.execPath, '-e', script], NO_JOB);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(ready), 'the command started');
  child.kill('SIGINT');
  assert.is(await ended, 130, stderr);
  assert.ok(existsSync(path.join(work, 'o', 'got-sigint')), 'the command got SIGINT');
  assert.equal(listFiles(store), before, 'nothing committed');
});

const fuseWhy = !existsSync('/dev/fuse') ? 'no /dev/fuse' : process.getuid?.() !== 0 ? 'not root (FUSE mounts here need root)' : undefined;
const withFuse = runsIf(t, fuseWhy);

/** Whether a datamover FUSE file system is mounted at `dir`. */
const fuseMounted = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  .some((l) => l.split(' ')[4] === dir && l.split(' - ')[1]?.startsWith('fuse.datamover'));

/** A store with repo raw (label v1: two files) and repo out. */
function mountFixture() {
  const store = storeWith('raw', 'out');
  const work = tempDir('lineage-mount');
  writeFile(work, 'src/a.csv', 'x,y\n1,2\n');
  writeFile(work, 'src/deep/b.bin', Buffer.alloc(200_000, 7));
  const raw = summaryOf(ok(store, ['--json', 'bundle', 'upload', path.join(work, 'src'), '--repo', 'raw', '--label', 'v1']).stdout).bundle;
  return { store, work, raw, input: path.join(work, 'in') };
}

withFuse('run --mount: the command reads its input through a FUSE mount (nothing downloaded), outputs committed, unmounted after; the mount is logged with the run id', () => {
  const { store, work, raw, input } = mountFixture();
  const script = `grep -q " $DATAMOVER_INPUT_0 .* - fuse.datamover" /proc/self/mountinfo || { echo "not mounted" >&2; exit 9; }
    cp -r "$DATAMOVER_INPUT_RAW"/. "$DATAMOVER_OUTPUT_OUT"/`;
  const r = ok(store, ['--json', 'run', '--mount', '--input', `raw@v1=${input}`, '--output', `out=${work}/o`, '--run', 'm-1', '--', 'sh', '-c', script]);
  const s = summaryOf(r.stdout);
  assert.is(s.committed, true);
  assert.not.ok(fuseMounted(input), 'unmounted once the command ended');
  assert.equal(listFiles(input), [], 'nothing was downloaded into the input directory');
  assert.equal(listFiles(path.join(work, 'o')), ['a.csv', 'deep/b.bin']);
  assert.ok(readFileSync(path.join(work, 'o/deep/b.bin')).equals(Buffer.alloc(200_000, 7)));
  assert.equal(descriptor(store, 'out', s.outputs[0].bundle).inputs, [{ repo: 'raw', bundle: raw }]);
  const reads = ok(store, ['--json', 'readlog', '--repo', 'raw']).stdout.trim().split('\n').map((l) => JSON.parse(l))
    .filter((l) => l.type === 'record').map((l) => l.record);
  const ended = reads.find((rec) => rec.type === 'bundle.mount' && rec.outcome === 'completed');
  assert.ok(ended, JSON.stringify(reads));
  assert.is(ended.run, 'm-1');
  assert.is(ended.bundle, raw);
  assert.is(ended.files, 2);
  assert.is(ended.bytes, 200_000 + 'x,y\n1,2\n'.length);
});

withFuse('run --mount: a failing command passes its status through, commits nothing, and the input is unmounted', () => {
  const { store, work, input } = mountFixture();
  const before = listFiles(store).filter((f) => !f.startsWith('readlog/'));
  const r = dm(store, ['run', '--mount', '--input', `raw@v1=${input}`, '--output', `out=${work}/o`, '--', 'sh', '-c', 'cat "$DATAMOVER_INPUT_0/a.csv" >/dev/null && exit 3']);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /exited with status 3; nothing was committed/);
  assert.not.ok(fuseMounted(input));
  assert.equal(listFiles(store).filter((f) => !f.startsWith('readlog/')), before, 'nothing committed');
});

withFuse('run --mount: SIGINT during the command reaches it; the input is unmounted, nothing committed', async () => {
  const { store, work, input } = mountFixture();
  const ready = path.join(work, 'ready');
  const script = `process.on('SIGINT', () => process.exit(0)); require('fs').readFileSync(process.env.DATAMOVER_INPUT_0 + '/a.csv');
    require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000);`;
  const child = cliAsync(['--store', store, 'run', '--mount', '--input', `raw@v1=${input}`, '--output', `out=${work}/o`, '--', process.execPath, '-e', script], NO_JOB);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (let i = 0; i < 400 && !existsSync(ready); i++) await new Promise((res) => setTimeout(res, 50));
  assert.ok(existsSync(ready), `the command started and read through the mount: ${stderr}`);
  assert.ok(fuseMounted(input), 'mounted while the command runs');
  child.kill('SIGINT');
  assert.is(await ended, 130, stderr);
  assert.not.ok(fuseMounted(input), 'unmounted after the interrupt');
  assert.equal(bundleIds(store, 'out'), [], 'nothing committed');
});

t('library users run a step and ask its lineage through the engine API (Store.runStep, Repo.lineage)', async () => {
  const store = await openStore({ url: tempDir('lineage-api'), create: true });
  for (const repo of ['in', 'out']) await store.createRepo(repo, { contributor: who });
  const src = tempDir('lineage-api-src');
  writeFile(src, 'x.txt', 'x');
  const input = (await store.repo('in').upload({ source: src, contributor: who, label: 'v1', run: { id: 'load' } })).bundle;
  const work = tempDir('lineage-api-work');
  const copy = 'require("fs").copyFileSync(process.env.DATAMOVER_INPUT_IN + "/x.txt", process.env.DATAMOVER_OUTPUT_OUT + "/y.txt")';
  const step = await store.runStep({
    inputs: [{ repo: 'in', ref: 'v1', dir: path.join(work, 'i') }], outputs: [{ repo: 'out', dir: path.join(work, 'o'), label: 'v1' }],
    command: [process.execPath, '-e', copy], contributor: who, runId: 'api-1', stdio: 'ignore',
  });
  assert.ok(step.committed);
  if (!step.committed) return;
  assert.equal(step.inputs.map((i) => [i.repo, i.ref, i.bundle]), [['in', 'v1', input.id]]);
  const made = step.outputs[0]!.bundle;
  assert.equal([made.inputs, made.run?.id, made.run?.command, step.outputs[0]!.label?.name], [[{ repo: 'in', bundle: input.id }], 'api-1', [process.execPath, '-e', copy], 'v1']);
  const down = await store.repo('in').lineage('v1', { direction: 'down' });
  assert.equal(down.edges, [{ from: `in@${input.id}`, to: `out@${made.id}` }]);
  const failed = await store.runStep({ inputs: [], outputs: [{ repo: 'out', dir: path.join(work, 'o2') }], command: ['false'], contributor: who, runId: 'api-2' });
  assert.equal([failed.committed, failed.end.exitStatus], [false, 1]);
  const refused = await store.repo('in').lineage('v1', { direction: 'up', depth: 0 }).then(() => undefined, (err: Error & { code?: string }) => err);
  assert.is(refused?.code, 'USAGE');
  assert.match(refused!.message, /^depth 0: expected a positive integer$/);
});

t.run();
