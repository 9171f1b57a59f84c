/**
 * The last steps of the commit protocol (DESIGN §6): `bundle.commit` WAL record → descriptor (create-only) →
 * label moved by compare-and-swap. The caller has already made packs durable, indexes and manifest pages written.
 * The WAL record comes first so that a visible bundle always has one: a command that fails (or is killed)
 * before the descriptor lands leaves only a record of an attempt whose bundle never appeared, which `fsck`
 * notes as information; the descriptor is the one write that makes the bundle visible.
 */
import { DatamoverError, isDatamoverError } from '../errors.js';
import { type Storage, StorageError, isStorageError } from '../storage/storage.js';
import { type BundleDescriptor, type LabelRecord, keys } from '../vocab.js';
import type { WriterLease } from '../gc/lease.js';
import { setLabel } from './labels.js';
import { putJson } from './objects.js';
import { appendWal } from './wal.js';

/**
 * The descriptor is written naming the store's principal (Storage.identity), like the WAL record.
 * `walFields` are added to the `bundle.commit` record (a split upload names its session). `lease` is the
 * writer's gc lease (docs/gc.md): checked first, so a writer whose lease was revoked fails with COLLECTED and
 * commits nothing.
 */
export async function commitBundle(
  storage: Storage, bundle: BundleDescriptor, label?: string, walFields: Record<string, unknown> = {}, lease?: WriterLease,
): Promise<{ bundle: BundleDescriptor; label?: LabelRecord }> {
  await lease?.assertHeld(`bundle ${bundle.id} of repo ${bundle.repo}`);
  bundle = { ...bundle, principal: await storage.identity(keys.bundle(bundle.repo, bundle.id)) };
  await appendWal(storage, 'bundle.commit', bundle.repo, bundle.contributor, {
    bundle: bundle.id, files: bundle.files, bytes: bundle.bytes, message: bundle.message,
    ...(bundle.inputs ? { inputs: bundle.inputs } : {}), ...(bundle.run ? { run: bundle.run } : {}), ...walFields,
  });
  const written = await putJson(storage, keys.bundle(bundle.repo, bundle.id), bundle, { ifAbsent: true });
  if (written.status !== 'written') throw new DatamoverError('ALREADY_EXISTS', `bundle ${bundle.id} already exists`);
  if (!label) return { bundle };
  try {
    return { bundle, label: await setLabel(storage, bundle.repo, label, bundle.id, bundle.contributor) };
  } catch (err) {
    throw labelNotMoved(err, `bundle ${bundle.id} of repo ${bundle.repo} is committed, but label ${label} was not moved`);
  }
}

/** The same error (same code, so the same exit code), its message saying what did take effect. */
function labelNotMoved(err: unknown, what: string): unknown {
  const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (isStorageError(err)) return new StorageError(err.kind, message, { cause: err });
  if (isDatamoverError(err)) return new DatamoverError(err.code, message, { cause: err });
  return err;
}
