/**
 * Signing WAL and read-log records with ed25519 (node:crypto): a writer given a private key signs each record
 * it writes (fields `signer`, the key id, and `sig`); a verifier given public keys checks that each chained
 * record was signed by one of them. docs/audit.md says what this proves.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { InputError } from '../errors.js';

/** Signs records: `keyId` names the key in each record it signs. */
export interface RecordSigner { readonly keyId: string; sign(data: Buffer): string }

/** Checks signatures of one public key, named by `keyId` (what a record's `signer` field holds). */
export interface RecordVerifier { readonly keyId: string; verify(data: Buffer, sig: string): boolean }

/** A key's id: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). */
function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/**
 * The signer of an ed25519 private key in PEM (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it).
 * USAGE (an InputError of field `field`, naming `source`) when it is not one.
 */
export function loadSigner(pem: string | Buffer, source: string, field = 'sign-key'): RecordSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new InputError(field, source, `not a private key in PEM (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InputError(field, source, `a ${key.asymmetricKeyType ?? 'symmetric'} key, not ed25519`);
  const keyId = keyIdOf(createPublicKey(key));
  return { keyId, sign: (data) => sign(null, data, key).toString('base64') };
}

/**
 * The verifier of an ed25519 public key in PEM (SPKI; a private key's PEM gives its public half). USAGE (an
 * InputError of field `field`, naming `source`) when it is not one.
 */
export function loadVerifier(pem: string | Buffer, source: string, field = 'public-key'): RecordVerifier {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new InputError(field, source, `not a public key in PEM (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InputError(field, source, `a ${key.asymmetricKeyType ?? 'symmetric'} key, not ed25519`);
  const keyId = keyIdOf(key);
  return {
    keyId,
    verify: (data, sig) => {
      try {
        return verify(null, data, key, Buffer.from(sig, 'base64'));
      } catch {
        return false;
      }
    },
  };
}

/**
 * The signer of each store opened with one, by the store's URL: records are written deep in the engine (a
 * label move, a read's end) with only the store's storage at hand, whose URL every decorator keeps.
 */
const signers = new Map<string, RecordSigner>();

/** Records written to the store at `url` from now on are signed by `signer` (undefined: not signed). */
export function useSigner(url: string, signer: RecordSigner | undefined): void {
  if (signer) signers.set(url, signer);
  else signers.delete(url);
}

/** The signer of the store at `url`, if it was opened with one. */
export function signerFor(url: string): RecordSigner | undefined {
  return signers.get(url);
}
