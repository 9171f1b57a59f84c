/**
 * The principal of the GCS backend (used only by gcs.ts): the account of the store's Application Default
 * Credentials — a key file's `client_email`, the metadata server's service account (workload identity), or for
 * user credentials the email their token is for. Against an emulator (which authenticates nothing), what the
 * configured credentials file names, else `unauthenticated`.
 */
import { readFile } from 'node:fs/promises';
import type { Storage as GcsClient } from '@google-cloud/storage';
import { classify } from './gcs.js';
import type { Principal } from './identity.js';
import { StorageError } from './storage.js';

/** The subset of google-auth-library's GoogleAuth used here (a dependency of the SDK, not of datamover). */
interface Auth {
  jsonContent?: { client_email?: string } | null;
  getCredentials(): Promise<{ client_email?: string }>;
  getClient(): Promise<{ getAccessToken(): Promise<{ token?: string | null }>; getTokenInfo?(token: string): Promise<{ email?: string }> }>;
}

export async function gcsIdentity(client: GcsClient, emulated: boolean, url: string): Promise<Principal> {
  if (emulated) return (await configuredAccount(url)) ?? { id: 'unauthenticated', via: 'unauthenticated' };
  const auth = client.authClient as unknown as Auth;
  try {
    const { client_email: email } = await auth.getCredentials();
    if (email) return { id: email, via: auth.jsonContent ? 'service-account' : 'metadata-server' };
    const oauth = await auth.getClient();
    const { token } = await oauth.getAccessToken();
    const info = token && oauth.getTokenInfo ? await oauth.getTokenInfo(token) : undefined;
    if (info?.email) return { id: info.email, via: 'user-account' };
  } catch (err) {
    if (/Could not load the default credentials/i.test((err as Error).message)) throw noAccount(url, err);
    // Unreachable metadata server or token endpoint, 5xx, 429: retryable; a bad key file or a refusal: permanent.
    throw classify(err, 'resolve the account of the Google credentials', url);
  }
  throw noAccount(url);
}

function noAccount(url: string, cause?: unknown): StorageError {
  const why = cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : ' (no client_email, and the token names no email)';
  return new StorageError('permanent', `${url}: the Google credentials name no account to record as the principal${why}`, { cause });
}

/** `client_email` of the file GOOGLE_APPLICATION_CREDENTIALS names, when set (read only: nothing is asked of Google). */
async function configuredAccount(url: string): Promise<Principal | undefined> {
  const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!file) return undefined;
  let parsed: { client_email?: unknown; type?: unknown };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new StorageError('permanent', `${url}: GOOGLE_APPLICATION_CREDENTIALS ${file}: ${(err as Error).message}`, { cause: err });
  }
  return typeof parsed.client_email === 'string' ? { id: parsed.client_email, via: 'service-account' } : undefined;
}
