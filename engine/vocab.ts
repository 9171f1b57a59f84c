/**
 * The words of datamover (DESIGN §2, §5), as types. Dependency-free on purpose: every layer imports it.
 */

/** Hash algorithm that names chunks; recorded per store in `format.json`. */
export type HashAlgorithm = 'sha256';

/** How files are cut into chunks; recorded per store, since boundaries decide what dedups. */
/**
 * How files are cut into chunks. `fixed`: at multiples of `size`. `fastcdc`: content-defined cuts (min/avg/max)
 * within fixed `segment`s of the file, which are cut independently so that workers chunk in parallel.
 */
export type ChunkerSpec =
  | { kind: 'fixed'; size: number }
  | { kind: 'fastcdc'; min: number; avg: number; max: number; segment: number };

export interface Contributor { name: string; email: string }

/**
 * Who the store's credentials say wrote a record (beside the declared, self-chosen `Contributor`): taken from
 * the credentials the store was opened with, never from a flag (engine/storage/identity.ts).
 */
export interface Principal {
  /** An ARN, an S3 access key id, a Google account email, `user@host`, or `unauthenticated`. */
  id: string;
  /**
   * What vouches for `id`: `sts` (S3 GetCallerIdentity), `access-key` (the S3 key the requests are signed with,
   * where the endpoint has no STS), `service-account` / `user-account` (Google credentials), `metadata-server`
   * (Google workload identity), `local-user` (the process's uid), `unauthenticated` (a GCS emulator without
   * credentials).
   */
  via: 'sts' | 'access-key' | 'service-account' | 'user-account' | 'metadata-server' | 'local-user' | 'unauthenticated';
  /** Local store: the numeric user id, user name and host name. */
  uid?: number;
  user?: string;
  host?: string;
  /** S3 through STS: the account and the access key id. */
  account?: string;
  accessKey?: string;
}

export type FileType = 'file' | 'dir' | 'symlink';

/** One chunk of a file: [hex hash, length]. */
export type ChunkRef = [string, number];

/**
 * A manifest line. `path` is relative, `/`-separated, never absolute, never containing `..`; its names are the
 * bytes on disk, not normalised, with bytes that are not UTF-8 as lone surrogates (engine/fs-path.ts). So is
 * a symlink's `target`.
 */
export interface FileEntry {
  path: string;
  type: FileType;
  size: number;
  mode: number;
  /** Milliseconds since the epoch, floor (negative before 1970); with `mtimeNanos`, the exact time (engine/times.ts). */
  mtime: number;
  /** Nanoseconds within `mtime`'s millisecond, 0–999,999; absent means 0. */
  mtimeNanos?: number;
  target?: string;
  /**
   * Files with more than one link: the link group, the manifest path of the group's first member in walk order
   * (every member carries it, the first too). Every member also has its chunks; a restore writes the first
   * member it restores and hard-links the others to it.
   */
  hardlink?: string;
  /** Files and directories: extended attributes (`user.*`) and POSIX ACLs, name → base64 value, names sorted. */
  xattrs?: Record<string, string>;
  chunks?: ChunkRef[];
  /** Files: inode and status-change time (ms) when read; the file cache's key for the next upload, nothing else. */
  ino?: number;
  ctime?: number;
  /** The same ctime to the nanosecond (decimal), of the version read: the file cache compares it exactly. */
  ctimeNs?: string;
}

export interface ManifestPage { key: string; first: string; last: string; count: number; sha256: string }

export interface BundleStats {
  newBytes: number;
  /** The new bytes as stored, when compression made them fewer; absent: as many as `newBytes`. */
  storedBytes?: number;
  dedupBytes: number;
  /** Bytes of files taken unread from the parent bundle (the file cache). */
  unchangedBytes?: number;
  /** Files left out because they could not be read (`skipOnError`). */
  skippedFiles?: number;
  packs: number;
  seconds: number;
}

export interface BundleDescriptor {
  id: string;
  repo: string;
  parents: string[];
  message: string;
  contributor: Contributor;
  /** Who the credentials of the committing process were (absent in bundles committed before principals). */
  principal?: Principal;
  created: string;
  hash: HashAlgorithm;
  chunker: ChunkerSpec;
  files: number;
  bytes: number;
  pages: ManifestPage[];
  stats: BundleStats;
  /** Set by `bundle rewrite`: the bundle this one replaced, and that bundle's time (the data's, kept through rewrites). */
  rewrittenFrom?: { bundle: string; created: string };
  /** The bundles this one was made from (lineage), resolved to ids when it was made. Absent: none recorded. */
  inputs?: BundleInput[];
  /** The run that made it (a pipeline step, a CI job). Absent: none recorded. */
  run?: RunInfo;
}

/** A bundle named by repo and id: one input of a bundle. */
export interface BundleInput { repo: string; bundle: string }

/**
 * What made a bundle: a run id (given, or the Argo/Kubernetes/CI identity found in the environment), and for
 * `run`, the command line (argv), its exit status and its wall-clock seconds.
 */
export interface RunInfo { id: string; command?: string[]; exitStatus?: number; seconds?: number }

export interface RepoDescriptor {
  name: string; description: string; created: string; contributor: Contributor;
  /** Who the credentials of the creating process were (absent in repos created before principals). */
  principal?: Principal;
  /**
   * How uploads to this repo compress new chunks, chosen at `repo create`; absent (repos made before format
   * version 2): off. A writer's choice only: every chunk records its own encoding, so readers never need it.
   */
  compression?: CompressionLevel;
}

/** Chunk compression of a repo's uploads: off, or zstd at its fast, default or highest level (workers/codec.ts). */
export type CompressionLevel = 'off' | 'fast' | 'default' | 'max';

export interface LabelRecord {
  name: string;
  bundle: string;
  updated: string;
  contributor: Contributor;
  /** The WAL record of the move that set this value. */
  wal?: string;
  /** A tombstone: the label was deleted (by compare-and-swap, like every move). */
  deleted?: boolean;
}

/**
 * Where a blob lives: `length` bytes at `offset` inside pack `pack`, encoded with `codec` (absent: raw, the
 * chunk's bytes themselves; `zstd`: one zstd frame of them). Format version 1 stores have raw blobs only.
 */
export interface BlobLocation { pack: string; offset: number; length: number; codec?: 'zstd' }
export interface IndexEntry extends BlobLocation { blob: string }

export interface FormatRecord {
  format: 'datamover';
  version: number;
  hash: HashAlgorithm;
  chunker: ChunkerSpec;
  created: string;
}

/**
 * The format new stores are created with. Version 2 adds per-blob compression (`BlobLocation.codec`); a store
 * of version 1 is read unchanged and written without compression, so older builds keep reading it.
 */
export const FORMAT_VERSION = 2;
/** The versions this build reads. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Store keys of format versions 1 and 2 (the same). */
export const keys = {
  format: 'format.json',
  /** Packs and indexes: the blobs role of a context. */
  blobsPrefix: 'blobs/',
  pack: (id: string) => `blobs/packs/${id.slice(0, 2)}/${id}`,
  indexPrefix: 'blobs/index/',
  index: (id: string) => `blobs/index/${id}.json.gz`,
  reposPrefix: 'meta/repos/',
  repo: (repo: string) => `meta/repos/${repo}/repo.json`,
  bundlesPrefix: (repo: string) => `meta/repos/${repo}/bundles/`,
  bundle: (repo: string, id: string) => `meta/repos/${repo}/bundles/${id}/bundle.json`,
  manifestPage: (repo: string, id: string, n: number, attempt?: string) =>
    `meta/repos/${repo}/bundles/${id}/manifest-${attempt ? `${attempt}-` : ''}${n}.ndjson.gz`,
  labelsPrefix: (repo: string) => `meta/repos/${repo}/labels/`,
  label: (repo: string, name: string) => `meta/repos/${repo}/labels/${name}.json`,
  walPrefix: (repo: string) => `wal/${repo}/`,
  wal: (repo: string, id: string) => `wal/${repo}/${id}.json`,
  readlog: (repo: string, day: string, id: string) => `readlog/${repo}/${day}/${id}.json`,
  session: (id: string) => `meta/sessions/${id}/session.json`,
  shardsPrefix: (id: string) => `meta/sessions/${id}/shards/`,
  shard: (id: string, index: number) => `meta/sessions/${id}/shards/${index}.json`,
  /** Pages of one attempt at a shard: a rerun writes new ones, so a failed attempt never collides. */
  shardPage: (id: string, index: number, attempt: string, n: number) =>
    `meta/sessions/${id}/pages/${index}/${attempt}/manifest-${n}.ndjson.gz`,
};

/**
 * Manifest order: component-wise byte order, so that a depth-first walk with sorted directories yields it
 * directly ("a/b" sorts before "a-c" because "a" < "a-c"). Returns <0, 0, >0.
 */
export function comparePaths(a: string, b: string): number {
  // Equivalent to comparing the '/'-separated components in turn: at the first difference, a string whose
  // component has ended (a '/' or its end) sorts first. No arrays are built: this runs per entry of a manifest.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    return x - y;
  }
  return a.length - b.length;
}

const SLASH = 0x2f;
