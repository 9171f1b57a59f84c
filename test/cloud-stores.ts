/** Fresh buckets on the test servers that test/run.ts started; fails (never skips) when a server is missing. */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { GcsStorage } from '../engine/storage/gcs.js';
import { S3Storage } from '../engine/storage/s3.js';
import { s3Credentials } from './test-servers.js';

function required(name: string, what: string): string {
  const value = process.env[name];
  if (!value) {
    const why = process.env.DATAMOVER_TEST_SERVER_PROBLEMS || 'not started (run the tests through test/run.js)';
    throw new Error(`${what} is not available: ${why}`);
  }
  return value;
}

export const s3Endpoint = () => required('DATAMOVER_TEST_S3_ENDPOINT', 'the S3 test server (Ceph RGW)');
export const gcsProxy = () => required('DATAMOVER_TEST_GCS_PROXY', 'the GCS test server (firebase emulator + proxy)');
export const gcsEmulator = () => required('DATAMOVER_TEST_GCS_EMULATOR', 'the GCS test server (firebase emulator)');

const unique = (tag: string) => `dm-${tag}-${randomBytes(4).toString('hex')}`;

/** A new, empty bucket on RGW; returns its `s3://` URL with a prefix. */
export async function freshS3Url(tag: string): Promise<string> {
  const bucket = unique(tag);
  await new S3Storage(`s3://${bucket}`, { endpoint: s3Endpoint() }).client.send(new CreateBucketCommand({ Bucket: bucket }));
  return `s3://${bucket}/store`;
}

export async function freshS3(tag: string): Promise<S3Storage> {
  return new S3Storage(await freshS3Url(tag), { endpoint: s3Endpoint() });
}

/** Incomplete multipart uploads left in the bucket of `url`. */
export async function openMultipartUploads(url: string): Promise<string[]> {
  const bucket = /^s3:\/\/([^/]+)/.exec(url)![1]!;
  const client = new S3Storage(`s3://${bucket}`, { endpoint: s3Endpoint() }).client;
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

/** A new bucket name under GCS (the emulator makes buckets on first write). */
export const freshGcsUrl = (tag: string) => `gs://${unique(tag)}/store`;

export const freshGcs = (tag: string, host = gcsProxy()) => new GcsStorage(freshGcsUrl(tag), { emulatorHost: host });

/** The environment a `datamover` child process needs to reach the test servers. */
export function cloudEnv(): Record<string, string> {
  return { ...s3Credentials, AWS_ENDPOINT_URL_S3: s3Endpoint(), STORAGE_EMULATOR_HOST: gcsProxy() };
}
