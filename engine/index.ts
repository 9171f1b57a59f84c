/**
 * The public entry of the engine (`import { openStore } from 'datamover'`): the store and repo handles, the
 * operations' option and result types, events and errors. The CLI enters the engine only through here (a lint
 * rule holds it to that); anything not exported here is internal and may change.
 */

// The front door.
export { type LogQuery, Store, type StoreOptions, openStore } from './store.js';
export {
  type BundleDiff, type BundleFiles, type DownloadOptions, type MountBundleOptions, type RefInput, Repo, type UpdateOptions, type UploadOptions,
  type VerifyOptions,
} from './repo.js';
export type { OpenOptions } from './storage/open.js';
export type { RetryPolicy } from './storage/retry.js';
export type { Role, RoleUrls } from './storage/routing.js';
export { defaultStorePath } from './storage/open.js';
import type { ServeOptions, Server } from './serve/server.js';
export type { ServeOptions, Server };

/** Starts the HTTP server over a store (serve/server.ts); its modules are loaded by the first call, not by every command. */
export async function serve(opts: ServeOptions): Promise<Server> {
  return (await import('./serve/server.js')).serve(opts);
}

// Results, records and options of the operations.
export type { BenchOp, BenchRequest, BenchRow } from './bench/storage-bench.js';
export type { FsckProblem, FsckResult } from './check/fsck.js';
export type { GcOptions, GcResult } from './gc/gc.js';
export type { IndexRepair } from './check/repair-index.js';
export type { CopyRequest, CopyResult } from './copy/copy.js';
export type { DownloadResult } from './download/download.js';
export type { SyncMode } from './download/file-restorer.js';
export { type PathSelector, globSelector } from './download/select.js';
export type { UpdateResult } from './download/update.js';
export type { VerifyResult } from './download/verify.js';
export type { DamagedBundle } from './meta/bundles.js';
export type { Change } from './meta/diff.js';
export type { ChainLink, ChainLog } from './meta/chain.js';
export type { ChainChecks, ChainFinding, ChainReport } from './meta/chain-verify.js';
export { type RecordSigner, type RecordVerifier, loadSigner, loadVerifier } from './meta/signing.js';
export type { LabelMove } from './meta/labels.js';
export type { ReadRecord } from './meta/readlog.js';
export { type BundleRef, LATEST, MIN_PREFIX, checkRef } from './meta/refs.js';
export { MAX_SHARDS, type SessionRecord, type ShardRecord, type ShardSpec, parseShard } from './meta/sessions.js';
export type { WalRecord, WalType } from './meta/wal.js';
export type { ShardUploadResult, UploadResult } from './upload/upload.js';
export type { SkippedFile } from './upload/entry-order.js';
export type { Tuning } from './upload/tuning.js';
export type {
  BundleDescriptor, BundleStats, ChunkerSpec, CompressionLevel, Contributor, FileEntry, FormatRecord, LabelRecord,
  RepoDescriptor,
} from './vocab.js';
export { CHUNKERS, ZSTD_LEVELS } from './meta/format.js';
export type { UploadPlan } from './upload/dry-run.js';
export type { CatFile } from './download/cat.js';
export type { FolderChange } from './download/folder-status.js';
export type { RemoveSources, SourceRemoval } from './upload/remove-sources.js';
export { type SourceSelection, parseFileList, parsePatternLines } from './scan/source-select.js';
export {
  type BundleReader, type ReadLogAs, type ReaderCounters, type ReaderEntry, type ReaderOptions,
} from './read/bundle-reader.js';
export type { MountHandle, MountOptions } from './read/mount.js';

// Names, times and contributors, checked the way the engine checks them.
export { checkBundleId, checkName, idAt, parseSince } from './meta/ids.js';
export { parseContributor, resolveContributor } from './meta/contributor.js';
export { type Principal, principalText } from './storage/identity.js';
export { displayName, escapedByte } from './fs-path.js';

// Events and errors.
export { type CopyAction, type EngineEvent, type Reporter, silentReporter } from './events.js';
export {
  DatamoverError, type ErrorCode, InputError, badInput, errnoCode, integrityError, ioError, isDatamoverError, notFound, usageError,
} from './errors.js';
export { StorageError } from './storage/storage.js';
export { interruptedError } from './cancel.js';

// Data lifecycle: forget, retention, rewrite, repo delete, stats.
export type { ForgetOptions, RewriteOptions } from './repo.js';
export type { ForgetResult, ForgottenBundle, KeptBundleInfo } from './lifecycle/forget.js';
export {
  type KeepWithin, RETENTION_FIELDS, type RetentionInput, type RetentionPolicy, describePolicy, parseKeepWithin, retentionPolicy,
} from './lifecycle/retention.js';
export type { LabelMoved, RewriteResult, RewrittenBundle } from './lifecycle/rewrite.js';
export type { RepoDeleteResult } from './lifecycle/repo-delete.js';
export type { RepoStats, StoreStats, UsageStats } from './lifecycle/stats.js';
// Lineage: inputs of bundles, pipeline steps, the lineage graph.
export type { BundleInput, RunInfo } from './vocab.js';
export { type InputRef, parseInputRef } from './run/inputs.js';
export { MAX_RUN_ID, checkRunId, runIdFromEnv } from './run/run-id.js';
export type { StepInput, StepInputResult, StepOutput, StepRequest, StepResult } from './run/run.js';
export type { CommandEnd } from './run/spawn.js';
export type { LineageDirection, LineageEdge, LineageGraph, LineageNode, LineageQuery } from './run/lineage.js';
export { lineageDot } from './run/lineage-dot.js';
// File content ids (bundle files).
export { contentId } from './meta/content-id.js';
