/**
 * The last steps of the commit protocol (DESIGN §6): descriptor (create-only) → `bundle.commit` WAL record →
 * label moved by compare-and-swap. The caller has already made packs durable, indexes and manifest pages written.
 */
import { DatamoverError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, type LabelRecord, keys } from '../vocab.js';
import { setLabel } from './labels.js';
import { putJson } from './objects.js';
import { appendWal } from './wal.js';

/** `walFields` are added to the `bundle.commit` record (a split upload names its session). */
export async function commitBundle(
  storage: Storage, bundle: BundleDescriptor, label?: string, walFields: Record<string, unknown> = {},
): Promise<{ bundle: BundleDescriptor; label?: LabelRecord }> {
  const written = await putJson(storage, keys.bundle(bundle.repo, bundle.id), bundle, { ifAbsent: true });
  if (written.status !== 'written') throw new DatamoverError('ALREADY_EXISTS', `bundle ${bundle.id} already exists`);
  await appendWal(storage, 'bundle.commit', bundle.repo, bundle.contributor, {
    bundle: bundle.id, files: bundle.files, bytes: bundle.bytes, message: bundle.message, ...walFields,
  });
  if (!label) return { bundle };
  return { bundle, label: await setLabel(storage, bundle.repo, label, bundle.id, bundle.contributor) };
}
