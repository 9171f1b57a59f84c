/**
 * Where each cloud backend takes its principal from, against local stand-ins: an STS endpoint (S3's
 * GetCallerIdentity, answered, refused, missing, failing) and a GCE metadata server (workload identity), and a
 * service-account key file. No cloud server is needed: nothing here leaves the loopback interface.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GcsStorage } from '../engine/storage/gcs.js';
import { RetryingStorage, defaultRetryPolicy } from '../engine/storage/retry.js';
import { S3Storage } from '../engine/storage/s3.js';
import { StorageError } from '../engine/storage/storage.js';
import { tempDir } from './helpers.js';

const t = suite('principal sources: STS, access key, key file, metadata server');

const KEY = 'AKIADATAMOVERTEST';
const ARN = 'arn:aws:iam::123456789012:user/alice';
const callerIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>
<Arn>${ARN}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
const stsError = (code: string) => `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>no</Message></Error><RequestId>r</RequestId></ErrorResponse>`;

interface Seen { body: string; authorization: string }

/** A server answering every request with `answer()` (status, body, headers), recording what it was sent. */
async function standIn(answer: (url: string) => [number, string, Record<string, string>?]): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      seen.push({ body, authorization: String(req.headers.authorization ?? '') });
      const [status, text, headers] = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'text/xml', ...headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

/** Runs `fn` with `vars` set in this process's environment (undefined: unset), restoring it after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) if (value === undefined) delete process.env[k]; else process.env[k] = value;
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

const s3Env = (sts?: string) => ({
  AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined,
  AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_STS: sts, AWS_ENDPOINT_URL: undefined,
});

t('S3: GetCallerIdentity, asked of the store\'s endpoint with the store\'s credentials, gives the ARN', async () => {
  const endpoint = await standIn(() => [200, callerIdentity]);
  try {
    const principal = await withEnv(s3Env(), () => new S3Storage('s3://bucket/p', { endpoint: endpoint.url }).identity());
    assert.equal(principal, { id: ARN, via: 'sts', account: '123456789012', accessKey: KEY });
    assert.is(endpoint.seen.length, 1);
    assert.ok(endpoint.seen[0]!.body.includes('Action=GetCallerIdentity'), endpoint.seen[0]!.body);
    assert.ok(endpoint.seen[0]!.authorization.includes(`Credential=${KEY}/`), 'signed with the store\'s key');
  } finally {
    await endpoint.close();
  }
});

t('S3: AWS_ENDPOINT_URL_STS is asked instead of the store\'s endpoint; the answer is cached per store', async () => {
  const sts = await standIn(() => [200, callerIdentity]);
  const s3 = await standIn(() => [500, 'not me']);
  try {
    await withEnv(s3Env(sts.url), async () => {
      const store = new S3Storage('s3://bucket/p', { endpoint: s3.url });
      const [a, b] = await Promise.all([store.identity(), store.identity('wal/r/x.json')]);
      assert.is(a.id, ARN);
      assert.is(a, b, 'one answer');
      assert.is(await store.identity(), a);
    });
    assert.is(sts.seen.length, 1, 'asked once');
    assert.is(s3.seen.length, 0);
  } finally {
    await Promise.all([sts.close(), s3.close()]);
  }
});

for (const [what, status, body] of [
  ['an unknown action (400 InvalidAction)', 400, stsError('InvalidAction')],
  ['not implemented (501)', 501, stsError('NotImplemented')],
  ['an answer that is not STS (an S3 listing)', 200, '<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>'],
  ['access denied (403)', 403, stsError('AccessDenied')],
] as const) {
  t(`S3: an endpoint without GetCallerIdentity (${what}): the access key id the requests are signed with`, async () => {
    const endpoint = await standIn(() => [status, body]);
    try {
      const principal = await withEnv(s3Env(), () => new S3Storage('s3://bucket/p', { endpoint: endpoint.url }).identity());
      assert.equal(principal, { id: KEY, via: 'access-key' });
    } finally {
      await endpoint.close();
    }
  });
}

t('S3: STS failing on its side is retryable, not a fallback; a retried ask succeeds once it answers', async () => {
  let failures = 2;
  const endpoint = await standIn(() => (failures-- > 0 ? [503, stsError('ServiceUnavailable')] : [200, callerIdentity]));
  try {
    await withEnv(s3Env(), async () => {
      const bare = new S3Storage('s3://bucket/p', { endpoint: endpoint.url });
      const err = await bare.identity().then(() => undefined, (e: unknown) => e);
      assert.instance(err, StorageError);
      assert.is((err as StorageError).kind, 'retryable');
      const retried = new RetryingStorage(bare, { ...defaultRetryPolicy, baseDelayMs: 1, maxDelayMs: 2 });
      assert.is((await retried.identity()).id, ARN, 'the failure was not remembered');
    });
  } finally {
    await endpoint.close();
  }
});

t('S3: an unreachable STS endpoint is retryable', async () => {
  const gone = await standIn(() => [200, '']);
  await gone.close();
  const err = await withEnv(s3Env(gone.url), () => new S3Storage('s3://bucket/p', { endpoint: gone.url }).identity()).then(() => undefined, (e: unknown) => e);
  assert.instance(err, StorageError);
  assert.is((err as StorageError).kind, 'retryable');
});

/** A service-account key file naming `email` (a fresh key: nothing is signed with it here). */
function keyFile(email: string): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = path.join(tempDir('principal-key'), 'key.json');
  writeFileSync(file, JSON.stringify({
    type: 'service_account', project_id: 'p', private_key_id: 'k', client_id: '1', client_email: email,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: 'https://oauth2.googleapis.com/token',
  }));
  return file;
}

const gcsEnv = (vars: Record<string, string | undefined>) => ({
  STORAGE_EMULATOR_HOST: undefined, GOOGLE_APPLICATION_CREDENTIALS: undefined, GCE_METADATA_HOST: undefined,
  METADATA_SERVER_DETECTION: undefined, GOOGLE_CLOUD_PROJECT: 'p', ...vars,
});

t('GCS: the client_email of the Application Default Credentials key file (read, not asked of Google)', async () => {
  const email = 'writer@p.iam.gserviceaccount.com';
  const principal = await withEnv(gcsEnv({ GOOGLE_APPLICATION_CREDENTIALS: keyFile(email) }), () => new GcsStorage('gs://bucket/p').identity());
  assert.equal(principal, { id: email, via: 'service-account' });
});

t('GCS: a key file that names no account is a permanent failure (not retried), naming the problem', async () => {
  const file = path.join(tempDir('principal-badkey'), 'key.json');
  writeFileSync(file, JSON.stringify({ type: 'service_account', project_id: 'p' }));
  const err = await withEnv(gcsEnv({ GOOGLE_APPLICATION_CREDENTIALS: file }), () => new GcsStorage('gs://bucket/p').identity()).then(() => undefined, (e: unknown) => e);
  assert.instance(err, StorageError);
  assert.is((err as StorageError).kind, 'permanent', (err as Error).message);
  assert.ok((err as Error).message.includes('gs://bucket/p'), (err as Error).message);
});

t('GCS: workload identity: the metadata server\'s service account', async () => {
  const email = 'workload@p.iam.gserviceaccount.com';
  const metadata = await standIn((url) => (url.includes('service-accounts/default/email') ? [200, email, { 'metadata-flavor': 'Google', 'content-type': 'text/plain' }]
    : url.includes('universe-domain') ? [200, 'googleapis.com', { 'metadata-flavor': 'Google', 'content-type': 'text/plain' }] : [404, '', { 'metadata-flavor': 'Google' }]));
  try {
    const host = metadata.url.replace('http://', '');
    const principal = await withEnv(gcsEnv({ GCE_METADATA_HOST: host, METADATA_SERVER_DETECTION: 'assume-present', HOME: tempDir('no-gcloud') }),
      () => new GcsStorage('gs://bucket/p').identity());
    assert.equal(principal, { id: email, via: 'metadata-server' });
  } finally {
    await metadata.close();
  }
});

t('GCS emulator: the configured key file\'s account, else unauthenticated; never the metadata server', async () => {
  const email = 'emu@p.iam.gserviceaccount.com';
  const emulator = { emulatorHost: 'http://127.0.0.1:1' };
  assert.equal(await withEnv(gcsEnv({ GOOGLE_APPLICATION_CREDENTIALS: keyFile(email) }), () => new GcsStorage('gs://bucket/p', emulator).identity()), { id: email, via: 'service-account' });
  assert.equal(await withEnv(gcsEnv({ GCE_METADATA_HOST: '127.0.0.1:1', METADATA_SERVER_DETECTION: 'assume-present' }), () => new GcsStorage('gs://bucket/p', emulator).identity()),
    { id: 'unauthenticated', via: 'unauthenticated' });
  const err = await withEnv(gcsEnv({ GOOGLE_APPLICATION_CREDENTIALS: '/no/such/key.json' }), () => new GcsStorage('gs://bucket/p', emulator).identity()).then(() => undefined, (e: unknown) => e);
  assert.instance(err, StorageError);
  assert.is((err as StorageError).kind, 'permanent');
  assert.ok((err as Error).message.includes('/no/such/key.json'), (err as Error).message);
});

t.run();
