/**
 * Starts the real servers the S3/GCS tests run against, and stops each by its own pid:
 * Ceph RADOS Gateway (S3; Debian packages, installed with apt-get when missing and running as root) and the
 * firebase Cloud Storage emulator (GCS; the separate package under test/servers, installed with `npm ci` there)
 * with the test-only fidelity proxy in front of it. Servers already given in the environment are used as they are:
 * DATAMOVER_TEST_S3_ENDPOINT, DATAMOVER_TEST_GCS_EMULATOR (the raw emulator) and DATAMOVER_TEST_GCS_PROXY.
 * When a server cannot be started, the reason is returned; the tests that need it then fail saying so.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers.js';

const serversDir = path.join(repoRoot, 'test', 'servers');
const RGW_PACKAGES = ['radosgw', 'ceph-mon', 'ceph-osd', 'curl'];

export interface Servers { problems: string[]; stop(): Promise<void> }

export const s3Credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'testtest', AWS_REGION: 'us-east-1' };

export async function startServers(log: (line: string) => void): Promise<Servers> {
  const problems: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  Object.assign(process.env, s3Credentials);
  if (!process.env.DATAMOVER_TEST_S3_ENDPOINT) {
    try {
      stops.push(await startRgw(log));
    } catch (err) {
      problems.push(`S3 test server (Ceph RGW): ${(err as Error).message}`);
    }
  }
  if (!process.env.DATAMOVER_TEST_GCS_PROXY) {
    try {
      stops.push(...await startGcs(log));
    } catch (err) {
      problems.push(`GCS test server (firebase emulator): ${(err as Error).message}`);
    }
  }
  let stopped: Promise<void> | undefined;
  const stopAll = () => (stopped ??= (async () => { for (const stop of stops.reverse()) await stop().catch(() => undefined); })());
  // Servers are stopped by their own pids on every way out: the end of the run, Ctrl-C, a kill.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { void stopAll().finally(() => process.exit(130)); });
  }
  return { problems, stop: stopAll };
}

/**
 * Installs Debian packages with apt-get (updating the lists once if the first try fails). Throws with the
 * command to run when not root, or apt-get's last line when it fails.
 */
export function aptInstall(packages: readonly string[], log: (line: string) => void): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`not installed and not root: run \`sudo apt-get install -y --no-install-recommends ${packages.join(' ')}\``);
  }
  log(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env, encoding: 'utf8' });
  }
  if (r.status !== 0) throw new Error(`apt-get install failed: ${(r.stderr || '').trim().split('\n').pop()}`);
}

/**
 * The tools the local tests use beyond Node's: setfacl/getfacl (acl), getfattr/setfattr (attr), fusermount3
 * (fuse3, for the FUSE mount), chromium (the web UI in a real browser), dot (graphviz, for lineage graphs),
 * strace (to count a mount's storage reads from outside it).
 */
export function ensureTestTools(log: (line: string) => void): string | undefined {
  const wanted = [['setfacl', 'acl'], ['getfattr', 'attr'], ['fusermount3', 'fuse3'], ['chromium', 'chromium'], ['dot', 'graphviz'], ['strace', 'strace']];
  const missing = wanted.filter(([c]) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (!missing.length) return undefined;
  try {
    aptInstall(missing.map(([, pkg]) => pkg!), log);
    return undefined;
  } catch (err) {
    return (err as Error).message; // the tests that need them are skipped and say why
  }
}

function missingCommands(): string[] {
  return ['radosgw', 'ceph-mon', 'ceph-osd', 'curl'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
}

async function startRgw(log: (line: string) => void): Promise<() => Promise<void>> {
  if (missingCommands().length) aptInstall(RGW_PACKAGES, log);
  if (await portAnswers(7480) || await portAnswers(6789)) {
    throw new Error('port 7480 or 6789 is taken; stop that server or set DATAMOVER_TEST_S3_ENDPOINT to use it');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dm-rgw-'));
  const env = { ...process.env, RGW_DIR: dir };
  const down = async () => { spawnSync('bash', [path.join(serversDir, 'rgw-down.sh')], { env }); };
  // A cluster just stopped can leave the mon port briefly unusable: one more attempt after a pause.
  for (let attempt = 1; ; attempt++) {
    log(`starting Ceph RGW (about 15 s)${attempt > 1 ? ', second attempt' : ''}`);
    const up = spawnSync('bash', [path.join(serversDir, 'rgw-up.sh')], { env, encoding: 'utf8', timeout: 180_000 });
    if (up.status === 0) break;
    await down();
    const why = (up.stderr || up.stdout || '').trim().split('\n').slice(-3).join(' | ') || `exit ${up.status ?? up.signal}`;
    if (attempt >= 2) throw new Error(`rgw-up.sh failed: ${why}`);
    log(`rgw-up.sh failed (${why}); retrying`);
    await new Promise((r) => setTimeout(r, 5_000));
  }
  process.env.DATAMOVER_TEST_S3_ENDPOINT = 'http://127.0.0.1:7480';
  return down;
}

async function startGcs(log: (line: string) => void): Promise<(() => Promise<void>)[]> {
  if (!existsSync(path.join(serversDir, 'node_modules', 'firebase-tools', 'package.json'))) {
    log('installing firebase-tools into test/servers (npm ci; a few minutes on a cold cache)');
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: serversDir, encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) throw new Error(`npm ci in test/servers failed: ${(r.stderr || '').trim().split('\n').pop()}`);
  }
  const emulatorPort = await freePort();
  const emulator = await startProcess('node', [path.join(serversDir, 'gcs-emulator.cjs')], { GCS_EMULATOR_PORT: String(emulatorPort) }, /ready on/, 'gcs-emulator');
  const proxy = await startProcess('node', [path.join(repoRoot, 'dist', 'test', 'servers', 'gcs-proxy.js'), String(emulatorPort)], {}, /ready on (\S+)/, 'gcs-proxy');
  process.env.DATAMOVER_TEST_GCS_EMULATOR = `http://127.0.0.1:${emulatorPort}`;
  process.env.DATAMOVER_TEST_GCS_PROXY = proxy.match[1]!;
  log(`GCS emulator on :${emulatorPort}, fidelity proxy at ${proxy.match[1]}`);
  return [proxy.stop, emulator.stop];
}

async function startProcess(cmd: string, args: string[], env: Record<string, string>, ready: RegExp, name: string) {
  const logFile = path.join(os.tmpdir(), `dm-${name}-${process.pid}.log`);
  const child: ChildProcess = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', openSync(logFile, 'w')] });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} not ready after 60 s (log: ${logFile})`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code} (log: ${logFile})`)); });
  });
  child.stdout!.resume();
  child.unref();
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return { match, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}
