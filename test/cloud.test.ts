/** The storage conformance suite and backend specifics on the real S3 (Ceph RGW) and GCS (firebase) servers. */
import { RetryingStorage } from '../engine/storage/retry.js';
import { conformance } from './conformance.js';
import { freshGcs, freshS3, gcsEmulator } from './cloud-stores.js';

conformance('s3 on Ceph RGW', async () => new RetryingStorage(await freshS3('conf')));
conformance('gcs on the firebase emulator behind the fidelity proxy (preconditions, chunked uploads, CRC32C)', async () => freshGcs('conf'));
conformance('gcs on the bare firebase emulator', async () => freshGcs('bare', gcsEmulator()), {
  noPreconditions: 'the emulator ignores ifGenerationMatch; proven behind the proxy',
  noMultiRequestParts: 'the emulator finalises a chunked resumable upload on its first chunk; proven behind the proxy',
});
