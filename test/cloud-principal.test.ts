/**
 * The principal on the cloud stores, through the built binary: on Ceph RGW (which has no STS GetCallerIdentity)
 * the access key the requests are signed with, on the GCS emulator what the configured credentials name (else
 * `unauthenticated`); whatever `--author` declares.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cloudEnv, freshGcsUrl, freshS3Url } from './cloud-stores.js';
import { cli, summaryOf, tempDir, writeFile } from './helpers.js';
import { s3Credentials } from './test-servers.js';

const t = suite('cloud: the principal is the credentials\' identity, whatever --author says');

const LIAR = 'Mallory <ceo@example.com>';

/**
 * Creates repo r, uploads a bundle labelled prod and downloads it, each `--author` LIAR with `env`; returns the
 * WAL and read-log records (--json) and the text lines of log, readlog, label history and bundle list.
 */
function writeAndRead(store: string, env: Record<string, string>) {
  const run = (...args: string[]) => {
    const r = cli(['--store', store, ...args], env);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const src = tempDir('cloud-principal-src');
  writeFile(src, 'a.txt', 'alpha');
  run('--author', LIAR, 'repo', 'create', 'r');
  run('--author', LIAR, 'bundle', 'upload', src, '--repo', 'r', '--label', 'prod');
  run('--author', LIAR, 'bundle', 'download', path.join(tempDir('cloud-principal-dest'), 'out'), '--repo', 'r', '--label', 'prod');
  const records = (command: string) => run('--json', command, '--repo', 'r').trim().split('\n').map((l) => JSON.parse(l))
    .filter((l) => l.type === 'record').map((l) => l.record);
  const lines = (...args: string[]) => run(...args).trim().split('\n');
  return {
    wal: records('log'), reads: records('readlog'),
    text: [...lines('log', '--repo', 'r'), ...lines('readlog', '--repo', 'r'), ...lines('label', 'history', 'prod', '--repo', 'r'), ...lines('bundle', 'list', '--repo', 'r')],
    bundles: summaryOf(run('--json', 'bundle', 'list', '--repo', 'r')).bundles,
  };
}

function assertEverywhere(seen: ReturnType<typeof writeAndRead>, principal: object, shown: string) {
  assert.equal(seen.wal.map((r) => r.type), ['repo.create', 'bundle.commit', 'label.set']);
  assert.is(seen.reads.length, 1);
  for (const r of [...seen.wal, ...seen.reads]) {
    assert.equal(r.contributor, { name: 'Mallory', email: 'ceo@example.com' }, 'the declared contributor, as declared');
    assert.equal(r.principal, principal, `${String(r.type)}: the credentials' identity`);
  }
  assert.equal(seen.bundles[0].principal, principal);
  assert.is(seen.text.length, 3 + 1 + 1 + 1);
  for (const line of seen.text) assert.ok(line.includes(`${LIAR}\t${shown}`), line);
}

t('RGW: every record names the test access key (RGW has no GetCallerIdentity), whatever --author says', async () => {
  const seen = writeAndRead(await freshS3Url('principal'), cloudEnv());
  assertEverywhere(seen, { id: s3Credentials.AWS_ACCESS_KEY_ID, via: 'access-key' }, `${s3Credentials.AWS_ACCESS_KEY_ID} (access-key)`);
});

t('GCS emulator: every record names the service account of the configured credentials file, whatever --author says', () => {
  const email = 'dm-writer@demo-datamover.iam.gserviceaccount.com';
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(tempDir('cloud-principal-key'), 'key.json');
  writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', project_id: 'demo-datamover', private_key_id: 'k1', client_id: '1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email,
    token_uri: 'https://oauth2.googleapis.com/token',
  }));
  const seen = writeAndRead(freshGcsUrl('principal'), { ...cloudEnv(), GOOGLE_APPLICATION_CREDENTIALS: keyFile });
  assertEverywhere(seen, { id: email, via: 'service-account' }, `${email} (service-account)`);
});

t('GCS emulator without credentials: every record is marked unauthenticated', () => {
  const seen = writeAndRead(freshGcsUrl('principal-anon'), { ...cloudEnv(), GOOGLE_APPLICATION_CREDENTIALS: '' });
  assertEverywhere(seen, { id: 'unauthenticated', via: 'unauthenticated' }, 'unauthenticated (unauthenticated)');
});

t.run();
