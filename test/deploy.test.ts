/**
 * The Dockerfile and deploy/ manifests against the real CLI: no container engine or cluster runs here, so
 * every command, flag and environment variable they use is checked against the built binary, and the image's
 * final stage is rehearsed in a scratch directory (production dependencies only, then a round trip).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { cli, cliAwait, repoRoot, runsIf, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('deploy: Dockerfile, Kubernetes and Argo manifests against the CLI');

interface PackageJson { version: string; bin: Record<string, string>; optionalDependencies?: Record<string, string> }
const pkgJson = () => JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
const pkg = pkgJson();
const IMAGE = `ghcr.io/example/datamover:${pkg.version}`;

/** Shell commands of the README's "Install" code block, comments and blank lines dropped. */
function readmeInstallCommands(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Install'))!;
  const block = /```bash\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

interface Stage { from: string; runs: string[]; user?: string; entrypoint?: string[]; copies: string[]; lines: string[] }

function dockerStages(): Stage[] {
  const text = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    if (instruction === 'FROM') stages.push({ from: rest[0]!, runs: [], copies: [], lines: [] });
    const stage = stages.at(-1)!;
    stage.lines.push(line);
    if (instruction === 'RUN') stage.runs.push(...arg.split('&&').map((c) => c.trim()));
    if (instruction === 'USER') stage.user = arg;
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(arg) as string[];
    if (instruction === 'COPY') stage.copies.push(arg);
  }
  return stages;
}

t('Dockerfile: slim Node 20 stages, only README install commands, production deps and non-root in the final stage, entry point in bin', () => {
  const stages = dockerStages();
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) assert.match(s.from, /^node:20(\.\d+)*-[a-z]+-slim(\s|$)/, s.from);
  const install = readmeInstallCommands();
  for (const run of stages.flatMap((s) => s.runs)) assert.ok(install.includes(run), `"${run}" is not one of the README's install commands: ${install.join(' | ')}`);
  const final = stages.at(-1)!;
  for (const run of final.runs.filter((r) => r.startsWith('npm ci'))) assert.match(run, /--omit=dev/, 'the final stage installs production dependencies only');
  assert.ok(final.user && final.user !== 'root' && final.user !== '0', `final stage user: ${final.user}`);
  assert.equal(final.entrypoint, ['datamover']);
  assert.ok(pkg.bin.datamover, 'datamover is in package.json bin');
  const binDir = path.dirname(pkg.bin.datamover).split('/').slice(0, 2).join('/'); // dist/cli
  assert.ok(final.copies.some((c) => c.includes(`/app/${binDir} `)), `the final stage copies ${binDir}`);
});

t('Dockerfile: the optional native helpers (native/) are built in the build stage and copied, built, into the final one', () => {
  const [build, final] = [dockerStages()[0]!, dockerStages().at(-1)!];
  const optional = Object.values(pkgJson().optionalDependencies ?? {}).filter((v) => v.startsWith('file:')).map((v) => v.slice('file:'.length));
  assert.ok(optional.length > 0, 'package.json has native optional dependencies');
  const copiedBefore = (stage: Stage, dir: string, from: RegExp) => {
    const i = stage.lines.findIndex((l) => /^COPY /.test(l) && from.test(l) && l.split(/\s+/).slice(-2).some((w) => w === dir || w === `${dir}/` || w === dir.split('/')[0]));
    const ci = stage.lines.findIndex((l) => /^RUN npm ci/.test(l));
    return i >= 0 && i < ci;
  };
  for (const dir of optional) {
    assert.ok(copiedBefore(build, dir, /^COPY (?!--from)/), `the build stage copies ${dir} before npm ci (which builds it)`);
    assert.ok(copiedBefore(final, dir, /--from=build/), `the final stage copies the built ${dir} from the build stage before npm ci`);
  }
  const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');
  assert.ok(ignore.includes('native/*/build') && ignore.includes('native/*/gen'), 'the host\'s native builds stay out of the image');
  const toolchain = build.runs.find((r) => r.startsWith('apt-get install'));
  assert.ok(toolchain && ['python3', 'make', 'g++'].every((p) => toolchain.split(' ').includes(p)), 'node-gyp\'s toolchain in the build stage');
});

t('the final stage, rehearsed: production dependencies only, the copied dist/ runs a round trip', () => {
  const app = tempDir('image');
  for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(repoRoot, f), path.join(app, f));
  // The image copies native/ as the build stage built it; here, as `npm ci` of this checkout built it.
  const byteNames = existsSync(path.join(repoRoot, 'native', 'fuse', 'build', 'Release', 'fuse.node'));
  cpSync(path.join(repoRoot, 'native'), path.join(app, 'native'), { recursive: true });
  const ci = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, encoding: 'utf8' });
  assert.is(ci.status, 0, ci.stderr);
  for (const dir of ['engine', 'workers', 'cli']) cpSync(path.join(repoRoot, 'dist', dir), path.join(app, 'dist', dir), { recursive: true });
  const bin = path.join(app, pkg.bin.datamover);
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, DATAMOVER_HOME: path.join(app, 'home') } });
  const src = tempDir('image-src');
  writeFile(src, 'a/b.bin', seededBytes(5, 5 * 1024 * 1024));
  assert.is(run('repo', 'create', 'r').status, 0);
  const up = run('bundle', 'upload', src, '--repo', 'r', '--label', 'l');
  assert.is(up.status, 0, up.stderr);
  const down = run('bundle', 'download', path.join(app, 'out'), '--repo', 'r', '--label', 'l');
  assert.is(down.status, 0, down.stderr);
  assert.ok(readFileSync(path.join(app, 'out/a/b.bin')).equals(seededBytes(5, 5 * 1024 * 1024)));
  if (byteNames) {
    const mountJs = path.join(app, 'dist', 'engine', 'read', 'mount.js');
    const names = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(mountJs)}).then((m) => process.stdout.write(String(m.mountServesByteNames())))`], { encoding: 'utf8' });
    assert.is(names.stdout, 'true', `the copied native/fuse binding loads (names as bytes): ${names.stderr}`);
  }
});

interface VolumeMount { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }
interface Container {
  name?: string; image?: string; args?: string[]; command?: string[]; env?: { name: string }[]; envFrom?: { configMapRef?: { name: string } }[];
  volumeMounts?: VolumeMount[]; securityContext?: { privileged?: boolean };
}

/**
 * A pipeline's own workload (deploy/*: the container named `main` beside a datamover sidecar or init
 * container): it runs its own image and command; the sidecar test checks how it uses the bundle.
 */
const isWorkload = (c: Container) => c.name === 'main' && c.image !== IMAGE;

function manifests(): { file: string; doc: Record<string, unknown> }[] {
  const dir = path.join(repoRoot, 'deploy');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml')).sort();
  return files.flatMap((file) => parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => {
    assert.equal(d.errors, [], `${file} parses`);
    return { file, doc: d.toJS() as Record<string, unknown> };
  }));
}

function containersOf(node: unknown, out: Container[] = []): Container[] {
  if (Array.isArray(node)) node.forEach((n) => containersOf(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (['containers', 'initContainers', 'sidecars'].includes(key) && Array.isArray(value)) out.push(...(value as Container[]));
      else if (key === 'container' && value && typeof value === 'object') out.push(value as Container);
      else containersOf(value, out);
    }
  }
  return out;
}

/** Options the binary's --help lists for `words` (or the global ones when empty). */
const helpCache = new Map<string, string>();
function helpOf(words: string[]): string {
  const key = words.join(' ');
  if (!helpCache.has(key)) {
    const r = cli([...words, '--help']);
    assert.is(r.code, 0, `datamover ${key} --help: ${r.stderr}`);
    helpCache.set(key, r.stdout);
  }
  return helpCache.get(key)!;
}

/** Splits datamover arguments into global flags, the command words and the command's flags; checks each. */
function checkArgs(args: string[], where: string): void {
  const globalHelp = helpOf([]);
  let i = 0;
  const takesValue = (help: string, flag: string) => new RegExp(`${flag}[ ,][^\\n]*<`).test(help.split('\n').find((l) => l.trim().startsWith(flag)) ?? '');
  while (args[i]?.startsWith('--')) {
    assert.ok(globalHelp.includes(`  ${args[i]}`), `${where}: ${args[i]} is not a global flag`);
    i += takesValue(globalHelp, args[i]!) ? 2 : 1;
  }
  const words: string[] = [];
  while (i < args.length && !args[i]!.startsWith('-') && words.length < 2) {
    const candidate = [...words, args[i]!];
    if (cli([...candidate, '--help']).code !== 0) break;
    words.push(args[i++]!);
    if (/^Usage: datamover .*<\w+>/.test(helpOf(words).split('\n')[0]!) || !helpOf(words).includes('Commands:')) break;
  }
  assert.ok(words.length > 0, `${where}: no datamover command in ${JSON.stringify(args)}`);
  const help = helpOf(words);
  for (const arg of args.slice(i)) {
    if (arg.startsWith('--')) assert.ok(help.includes(`  ${arg}`) || globalHelp.includes(`  ${arg}`), `${where}: datamover ${words.join(' ')} has no ${arg}`);
  }
}

/** Environment variables the compiled CLI and engine read. */
function envRead(): Set<string> {
  const names = new Set<string>();
  const scan = (dir: string) => {
    for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.js')) continue;
      for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/env(?:\?\.|\.)([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
    }
  };
  scan(path.join(repoRoot, 'dist', 'cli'));
  scan(path.join(repoRoot, 'dist', 'engine'));
  return names;
}

t('every manifest parses; each container runs the one image, real commands and flags, and env the CLI reads', () => {
  const docs = manifests();
  assert.ok(docs.length >= 6, `${docs.length} manifests`);
  const kinds = docs.map((d) => d.doc.kind);
  for (const kind of ['Job', 'CronJob', 'Workflow', 'ServiceAccount']) assert.ok(kinds.includes(kind), `a ${kind} ships`);
  const indexed = docs.find((d) => d.doc.kind === 'Job' && (d.doc.spec as { completionMode?: string }).completionMode === 'Indexed');
  assert.ok(indexed, 'an Indexed Job fans out the shards');
  const configMaps = new Map(docs.filter((d) => d.doc.kind === 'ConfigMap').map((d) => [(d.doc.metadata as { name: string }).name, d.doc.data as Record<string, string>]));
  const read = envRead();
  let containers = 0;
  for (const { file, doc } of docs) {
    for (const c of containersOf(doc)) {
      if (isWorkload(c)) continue;
      containers++;
      const where = `${file} (${doc.kind})`;
      assert.is(c.image, IMAGE, `${where}: image`);
      assert.is(c.command, undefined, `${where}: the image's entry point runs datamover`);
      checkArgs(c.args ?? [], where);
      const env = new Set((c.env ?? []).map((e) => e.name));
      for (const ref of (c.args ?? []).join(' ').matchAll(/\$\((\w+)\)/g)) assert.ok(env.has(ref[1]!), `${where}: $(${ref[1]}) is not in env`);
      const fromMaps = (c.envFrom ?? []).flatMap((e) => Object.keys(configMaps.get(e.configMapRef?.name ?? '') ?? {}));
      for (const name of [...env, ...fromMaps].filter((n) => n.startsWith('DATAMOVER_') || n.startsWith('AWS_') || n === 'JOB_COMPLETION_INDEX')) {
        assert.ok(read.has(name) || name.startsWith('AWS_'), `${where}: datamover never reads ${name}`);
      }
      if ((c.args ?? []).includes('--shards')) assert.ok(doc.kind === 'Job', `${where}: --shards needs JOB_COMPLETION_INDEX from an Indexed Job`);
    }
  }
  assert.ok(containers >= 6, `${containers} containers checked`);
  assert.ok(read.has('JOB_COMPLETION_INDEX') && read.has('DATAMOVER_SESSION') && read.has('DATAMOVER_SHARDS'));
});

t('split-upload.sh applies manifests that exist and starts the session with real flags', () => {
  const script = readFileSync(path.join(repoRoot, 'deploy/k8s/split-upload.sh'), 'utf8');
  for (const m of script.matchAll(/-f ([\w.-]+\.yaml)/g)) assert.ok(readdirSync(path.join(repoRoot, 'deploy/k8s')).includes(m[1]!), m[1]);
  const call = /-- (--store "\$STORE" session start --repo \w+)/.exec(script);
  assert.ok(call, 'the script runs `session start`');
  checkArgs(call[1]!.replace('"$STORE"', 's3://x/y').split(' '), 'split-upload.sh');
  assert.is(spawnSync('bash', ['-n', path.join(repoRoot, 'deploy/k8s/split-upload.sh')]).status, 0, 'bash -n');
});

/** A workload beside the datamover container that mounts or downloads its input bundle (deploy/ pipelines). */
interface Pipeline { file: string; reader: Container; workload: Container; verb: 'mount' | 'download'; init: boolean; params: Record<string, string> }

function pipelines(): Pipeline[] {
  const out: Pipeline[] = [];
  for (const { file, doc } of manifests()) {
    const all = containersOf(doc);
    const workload = all.find(isWorkload);
    const reader = all.find((c) => c.image === IMAGE && /\bbundle (mount|download)\b/.test((c.args ?? []).join(' ')));
    if (!workload || !reader) continue;
    const verb = (c: Container) => ((c.args ?? []).includes('mount') ? 'mount' : 'download');
    const inits = (doc.spec as { initContainers?: Container[] }).initContainers ?? [];
    const params = Object.fromEntries((((doc.spec as { arguments?: { parameters?: { name: string; value: string }[] } }).arguments?.parameters) ?? []).map((p) => [p.name, p.value]));
    out.push({ file, reader, workload, verb: verb(reader), init: inits.includes(reader), params });
  }
  return out;
}

const argAfter = (args: string[], flag: string) => args[args.indexOf(flag) + 1]!;
const mountOf = (c: Container, at: string) => (c.volumeMounts ?? []).find((m) => at === m.mountPath || at.startsWith(`${m.mountPath}/`));
const script = (c: Container) => (c.command ?? []).join(' ');

t('sidecar pipelines: the FUSE sidecar (pod and Argo step) and the download init container share the bundle with the workload by the spelled-out protocol', () => {
  const found = pipelines();
  assert.equal(found.map((p) => `${p.file}:${p.verb}`).sort(), ['argo/fuse-sidecar-workflow.yaml:mount', 'k8s/download-init-pod.yaml:download', 'k8s/fuse-sidecar-pod.yaml:mount']);
  for (const p of found) {
    const args = p.reader.args!;
    const target = args[args.indexOf(p.verb) + 1]!;
    const readerVolume = mountOf(p.reader, target);
    const workloadVolume = mountOf(p.workload, target);
    assert.ok(readerVolume && workloadVolume && readerVolume.name === workloadVolume.name, `${p.file}: one volume holds ${target} for both`);
    assert.is(readerVolume.mountPath, workloadVolume.mountPath, `${p.file}: the same path in both containers`);
    if (p.verb === 'download') {
      assert.ok(p.init, `${p.file}: the download runs as an init container`);
      continue;
    }
    assert.is(p.reader.securityContext?.privileged, true, `${p.file}: FUSE and Bidirectional propagation need a privileged sidecar`);
    assert.is(readerVolume.mountPath, target, `${p.file}: the bundle is mounted on the shared volume itself`);
    assert.is(readerVolume.mountPropagation, 'Bidirectional', p.file);
    assert.is(workloadVolume.mountPropagation, 'HostToContainer', p.file);
    const [ready, done] = [argAfter(args, '--ready-file'), argAfter(args, '--done-file')];
    for (const f of [ready, done]) {
      const [a, b] = [mountOf(p.reader, f), mountOf(p.workload, f)];
      assert.ok(a && b && a.name === b.name && a.mountPath === b.mountPath && !b.readOnly, `${p.file}: ${f} is on a volume both containers write`);
    }
    assert.ok(script(p.workload).includes(`[ -f ${ready} ]`), `${p.file}: the workload waits for ${ready}`);
    assert.ok(script(p.workload).includes(`touch ${done}`), `${p.file}: the workload touches ${done} when it ends`);
  }
});

const fuseMissing = !existsSync('/dev/fuse') ? 'no /dev/fuse' : process.getuid?.() !== 0 ? 'not root' : undefined;

/**
 * Runs a pipeline on this machine: its volumes become directories under a temp root (the mount's volume a bind
 * mount of itself, as an emptyDir is in a pod), the reader through the binary, the workload's script in sh.
 */
async function rehearse(p: Pipeline): Promise<void> {
  const root = tempDir('pipeline');
  const store = path.join(root, 'store');
  const src = tempDir('pipeline-src');
  writeFile(src, 'train/part-0.bin', seededBytes(3, 100_000));
  assert.is(cli(['--store', store, 'repo', 'create', 'datasets']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'datasets']).code, 0);
  const local = (s: string) => s.replace(/\{\{workflow\.parameters\.(\w+)\}\}/g, (_, k: string) => p.params[k]!).replaceAll(' /mnt/', ` ${root}/mnt/`).replace(/^\/mnt\//, `${root}/mnt/`);
  const volumes = [...(p.reader.volumeMounts ?? []), ...(p.workload.volumeMounts ?? [])].map((m) => local(m.mountPath));
  for (const v of volumes) mkdirSync(v, { recursive: true });
  const bound = p.verb === 'mount' ? local(p.reader.args![p.reader.args!.indexOf('mount') + 1]!) : undefined;
  if (bound) assert.is(spawnSync('mount', ['--bind', bound, bound]).status, 0, 'bind mount');
  try {
    const env = { DATAMOVER_STORE: store };
    const reader = p.init ? Promise.resolve(cli(p.reader.args!.map(local), env)) : cliAwait(p.reader.args!.map(local), env);
    if (p.init) assert.is((await reader).code, 0, (await reader).stderr);
    const work = spawnSync('sh', ['-c', local(p.workload.command![2]!)], { encoding: 'utf8', timeout: 60_000 });
    assert.is(work.status, 0, work.stderr);
    assert.match(work.stdout, 'train', `${p.file}: the workload saw the bundle`);
    const r = await reader;
    assert.is(r.code, 0, `${p.file}: ${r.stderr}`);
    if (bound) {
      const table = readFileSync('/proc/self/mountinfo', 'utf8');
      assert.not.ok(table.includes('fuse.datamover') && table.split('\n').some((l) => l.split(' ')[4] === bound && l.includes('fuse.datamover')), 'unmounted');
      assert.ok(table.split('\n').some((l) => l.split(' ')[4] === bound), 'the volume itself stays mounted');
    }
  } finally {
    if (bound) spawnSync('umount', ['-l', bound]);
  }
}

t('the download init pipeline, rehearsed: the init container downloads, the workload reads', async () => {
  for (const p of pipelines().filter((x) => x.verb === 'download')) await rehearse(p);
});

runsIf(t, fuseMissing)('the FUSE sidecar pipelines, rehearsed: the sidecar mounts and writes the ready file, the workload reads and touches the done file, the sidecar unmounts (leaving the volume) and exits 0', async () => {
  for (const p of pipelines().filter((x) => x.verb === 'mount')) await rehearse(p);
});

t.run();
