/**
 * The principal of the S3 backend (used only by s3.ts, loaded when a record is first written): the caller
 * identity STS `GetCallerIdentity` returns for the store's credentials, asked of `AWS_ENDPOINT_URL_STS`, else
 * of the store's own endpoint (S3-compatible servers serve STS beside S3), else of AWS. Where the endpoint has
 * no such action (Ceph RGW, MinIO without it), the access key id the requests are signed with.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Principal } from './identity.js';
import { StorageError } from './storage.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Fails retryable when STS could not be reached or failed on its side (the retry decorator asks again), and
 * permanent when there are no credentials; any other answer (an unknown action, a refusal) falls back to the
 * access key id.
 */
export async function s3Identity(client: S3Client, endpoint: string | undefined, url: string): Promise<Principal> {
  const credentials = await client.config.credentials().catch((err: unknown) => {
    throw new StorageError('permanent', `${url}: no S3 credentials to record as the principal: ${(err as Error).message}`, { cause: err });
  });
  const sts = new STSClient({
    endpoint: process.env.AWS_ENDPOINT_URL_STS || endpoint,
    region: await client.config.region(),
    credentials,
    maxAttempts: 1,
    logger: silent,
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 30_000 },
  });
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    if (out.Arn) return { id: out.Arn, via: 'sts', ...(out.Account ? { account: out.Account } : {}), accessKey: credentials.accessKeyId };
  } catch (err) {
    if (transient(err)) throw new StorageError('retryable', `${url}: STS GetCallerIdentity: ${(err as Error).message}`, { cause: err });
  } finally {
    sts.destroy();
  }
  return { id: credentials.accessKeyId, via: 'access-key' };
}

/** A failure of the network or of the server (5xx but 501, throttling): not an answer that STS is missing. */
function transient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return !/Deserializ|XML|parse/i.test(`${e.name} ${(err as Error).message}`);
  return status === 429 || (status >= 500 && status !== 501) || e.name === 'Throttling';
}
