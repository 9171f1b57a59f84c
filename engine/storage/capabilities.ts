/** The limits of the cloud backends, apart from their SDKs so that a store can be described before it loads. */
import type { OptionalMethod } from './optional.js';
import type { Capabilities } from './storage.js';

const MiB = 1024 * 1024;

export const s3Capabilities: Capabilities = {
  minPartSize: 5 * MiB, maxPartSize: 5 * 1024 * MiB, maxParts: 10_000, conditionalWrites: true, suggestedConcurrency: 16,
};

/** Resumable chunks must be multiples of 256 KiB; a session carries the unaligned tail over (gcs-resumable). */
export const gcsCapabilities: Capabilities = {
  minPartSize: 256 * 1024, maxPartSize: 5 * 1024 ** 4, maxParts: 100_000, conditionalWrites: true, suggestedConcurrency: 16,
};

/** The optional Storage methods each cloud backend has (LazyStorage exposes them before the backend loads). */
export const s3Optional: readonly OptionalMethod[] = ['abortStaleUploads', 'pendingUploads'];
export const gcsOptional: readonly OptionalMethod[] = []; // resumable sessions expire by themselves
