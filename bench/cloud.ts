/**
 * `npm run bench:cloud [-- --quick]`: upload and download throughput against the S3 test server (Ceph RGW) and the
 * GCS emulator (behind the test fidelity proxy), next to `rclone copy`, `aws s3 cp --recursive` and restic's s3
 * backend on the same server with the same concurrency, on the same data, in the same run. Servers are started
 * as for the tests. Prints a Markdown table; a full run (not --quick, nothing narrowed) also puts it in
 * bench/RESULTS.md as its cloud section (`resultsWithCloud`), which `npm run bench` keeps when it rewrites the rest.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { s3Credentials, startServers } from '../test/test-servers.js';
import { type DataSet, bigFile, smallFiles } from './data.js';
import { arg, cli, repoRoot, resultsWithCloud, timed } from './measure.js';
import { have, peerEnv } from './peers.js';

const quick = process.argv.includes('--quick');
/** `--only s3|gcs` and `--data big|small` narrow a run (both tools still run on what is left). */
const onlyTarget = arg('--only');
const onlyData = arg('--data');
const concurrency = 8;
const work = path.join(os.tmpdir(), `datamover-bench-cloud-${process.pid}`);

const baseEnv = peerEnv();

const seconds = (cmd: string, args: string[], env: NodeJS.ProcessEnv) => timed(cmd, args, env, { baseEnv, timeoutMs: 600_000 }).seconds;

interface Target { name: string; dmStore: (bucket: string) => string; rcloneRemote: (bucket: string) => string; env: NodeJS.ProcessEnv }

function targets(): Target[] {
  const s3 = process.env.DATAMOVER_TEST_S3_ENDPOINT!;
  const gcs = process.env.DATAMOVER_TEST_GCS_PROXY!;
  return [
    {
      name: 'S3 (Ceph RGW)', dmStore: (b) => `s3://${b}/dm`, rcloneRemote: (b) => `rgw:${b}/rclone`,
      env: {
        ...s3Credentials, AWS_ENDPOINT_URL_S3: s3,
        RCLONE_CONFIG_RGW_TYPE: 's3', RCLONE_CONFIG_RGW_PROVIDER: 'Ceph', RCLONE_CONFIG_RGW_ENDPOINT: s3,
        RCLONE_CONFIG_RGW_ACCESS_KEY_ID: 'test', RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: 'testtest', RCLONE_CONFIG_RGW_REGION: 'us-east-1',
      },
    },
    {
      name: 'GCS (firebase emulator + proxy)', dmStore: (b) => `gs://${b}/dm`, rcloneRemote: (b) => `gcsemu:${b}/rclone`,
      env: {
        STORAGE_EMULATOR_HOST: gcs,
        RCLONE_CONFIG_GCSEMU_TYPE: 'google cloud storage', RCLONE_CONFIG_GCSEMU_ENDPOINT: `${gcs}/storage/v1/`,
        RCLONE_CONFIG_GCSEMU_ANONYMOUS: 'true', RCLONE_CONFIG_GCSEMU_BUCKET_POLICY_ONLY: 'true',
      },
    },
  ];
}

interface PeerTimes { name: string; up: number; down: number }

/** Runs a peer's upload then download; NaN (and a line on stderr) for what fails. */
function peer(name: string, up: () => number, down: () => number): PeerTimes {
  const out: PeerTimes = { name, up: NaN, down: NaN };
  try {
    out.up = up();
    out.down = down();
  } catch (err) {
    console.error(`${name}: ${(err as Error).message.split('\n')[0]}`);
  }
  return out;
}

function row(data: DataSet, target: Target, bucket: string): string[] {
  const dm = (...args: string[]) => seconds(process.execPath, [cli, '--store', target.dmStore(bucket), '--quiet', '--concurrency', String(concurrency), ...args], target.env);
  // One retry at most: rclone retries a request the server refuses for minutes otherwise.
  const rclone = (...args: string[]) => seconds('rclone', ['--transfers', String(concurrency), '--checkers', String(concurrency), '--retries', '1', '--low-level-retries', '2', ...args], target.env);
  const isS3 = target.name.startsWith('S3');
  if (isS3) seconds('rclone', ['mkdir', `rgw:${bucket}`], target.env);
  dm('repo', 'create', 'bench');
  const up = dm('bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest');
  const dest = path.join(work, 'dm-dest');
  const clean = () => rmSync(dest, { recursive: true, force: true });
  clean();
  const down = dm('bundle', 'download', dest, '--repo', 'bench', '--label', 'latest');
  clean();
  const peers = [peer('rclone copy', () => rclone('copy', data.dir, target.rcloneRemote(bucket)), () => rclone('copy', target.rcloneRemote(bucket), dest))];
  clean();
  if (isS3 && awsOk) {
    const endpoint = process.env.DATAMOVER_TEST_S3_ENDPOINT!;
    const aws = (...args: string[]) => seconds('aws', ['--endpoint-url', endpoint, '--only-show-errors', 's3', ...args], { ...target.env, AWS_CONFIG_FILE: awsConfig });
    peers.push(peer('aws s3 cp --recursive', () => aws('cp', '--recursive', data.dir, `s3://${bucket}/aws/`), () => aws('cp', '--recursive', `s3://${bucket}/aws/`, dest)));
    clean();
  }
  if (isS3 && resticOk) {
    const env = { ...target.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: `s3:${process.env.DATAMOVER_TEST_S3_ENDPOINT}/${bucket}/restic`, RESTIC_CACHE_DIR: path.join(work, 'restic-cache') };
    const restic = (...args: string[]) => seconds('restic', ['-q', '-o', `s3.connections=${concurrency}`, ...args], env);
    peers.push(peer('restic (s3 backend)', () => { restic('init'); return restic('backup', data.dir); }, () => restic('restore', 'latest', '--target', dest)));
    clean();
  }
  spawnSync('rclone', ['purge', target.rcloneRemote(bucket).replace(/\/rclone$/, '')], { env: { ...baseEnv, ...target.env } });
  const mibs = (s: number) => (data.bytes / 2 ** 20 / s).toFixed(0);
  const vs = (a: number, list: [string, number][]) => list.map(([n, b]) => (Number.isNaN(b) ? `${n} failed` : `${n} ${b.toFixed(2)} s (${mibs(b)} MiB/s) → **${(a / b).toFixed(2)}×**`)).join('; ');
  return [
    `| ${target.name} | ${data.name} | upload | ${up.toFixed(2)} s (${mibs(up)} MiB/s) | ${vs(up, peers.map((p) => [p.name, p.up]))} |`,
    `| ${target.name} | ${data.name} | download | ${down.toFixed(2)} s (${mibs(down)} MiB/s) | ${vs(down, peers.map((p) => [p.name, p.down]))} |`,
  ];
}

const awsOk = have('aws', 'awscli');
const resticOk = have('restic');
/** aws-cli at the same concurrency as the others. */
const awsConfig = path.join(os.tmpdir(), `datamover-bench-aws-${process.pid}.ini`);
writeFileSync(awsConfig, `[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = ${concurrency}\n`);

// Every tool stores the data set once in the in-memory OSD: 1 GiB × 4 tools does not fit the tests' 4 GiB.
process.env.RGW_MEM_BYTES ??= String(12 * 2 ** 30);
const servers = await startServers((line) => console.error(`[servers] ${line}`));
try {
  if (servers.problems.length) throw new Error(servers.problems.join('; '));
  mkdirSync(work, { recursive: true });
  const dataRoot = path.join(repoRoot, 'bench', 'data');
  const sets = [
    ...(onlyData === 'small' ? [] : [bigFile(dataRoot, quick ? 256 * 2 ** 20 : 2 ** 30)]),
    ...(onlyData === 'big' ? [] : [smallFiles(dataRoot, quick ? 2_000 : 20_000, 64 * 1024)]),
  ];
  const table = [
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, concurrency ${concurrency} for every tool, one run each, loopback servers`, '',
    '| server | data | op | datamover | peers, same concurrency (datamover ÷ peer) |', '|---|---|---|---:|---|',
  ];
  console.log(table.join('\n'));
  let n = 0;
  for (const data of sets) {
    for (const target of targets().filter((t) => !onlyTarget || t.name.toLowerCase().startsWith(onlyTarget))) {
      for (const line of row(data, target, `bench-${process.pid}-${n++}`)) { console.log(line); table.push(line); }
    }
  }
  if (!quick && !onlyTarget && !onlyData) resultsWithCloud(table);
} finally {
  await servers.stop();
  rmSync(work, { recursive: true, force: true });
}
