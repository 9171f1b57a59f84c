/**
 * Typed progress events. The engine emits them; only the CLI renders them (as bars, lines or NDJSON).
 */
export type EngineEvent =
  | { type: 'scan.progress'; files: number; bytes: number }
  /** An upload's tree, counted ahead of (and beside) its hashing: the total its progress moves toward. */
  | { type: 'scan.done'; files: number; bytes: number }
  | { type: 'scan.skip'; path: string; reason: string }
  /** `bytesHashed + unchangedBytes` of the files done, against `scan.done`'s `bytes`, is how far an upload is. */
  | { type: 'upload.progress'; filesDone: number; bytesHashed: number; newBytes: number; dedupBytes: number; unchangedBytes: number }
  | { type: 'pack.durable'; key: string; bytes: number; blobs: number }
  | { type: 'index.written'; key: string; entries: number }
  | { type: 'bundle.committed'; repo: string; bundle: string; files: number; bytes: number; newBytes: number }
  | { type: 'label.set'; repo: string; label: string; bundle: string }
  | { type: 'download.plan'; files: number; bytes: number }
  | { type: 'download.progress'; filesDone: number; bytesDone: number; skipped: number }
  | { type: 'retry'; op: string; attempt: number; error: string }
  /** `serve` is listening at `url`. */
  | { type: 'serve.listening'; url: string }
  /** `serve` answered a request with a server-side failure (5xx), or cut a transfer it had started. */
  | { type: 'serve.failed'; method: string; target: string; client: string; status: number; code: string; error: string }
  /** A read succeeded but could not be recorded in the read log (a read-only store): a warning, not a failure. */
  | { type: 'readlog.unwritten'; repo: string; bundle: string; read: string; error: string }
  /** Extended attributes or ACLs not recorded or not restored (`path` '' for the whole run); the data is complete. */
  | { type: 'xattr.warning'; path: string; reason: string }
  /**
   * An upload could not look for extended attributes (the optional package is missing): none were recorded.
   * An event only (not printed in text mode): most trees have none, and a download of a bundle that has some
   * warns when it cannot restore them.
   */
  | { type: 'xattr.unavailable'; reason: string }
  /** `bundle update` left an entry of the old bundle in place: it no longer is what that bundle recorded. */
  | { type: 'update.kept'; path: string; reason: string }
  | { type: 'copy.object'; key: string; action: CopyAction; bytes: number }
  /** `--remove-source-files` left a source file in place, and why (changed since hashed, too recent, ...). */
  | { type: 'source.kept'; path: string; reason: string }
  /** `bundle download --delete` removed an entry the bundle does not have (a directory with all below it). */
  | { type: 'mirror.removed'; path: string; entryType: 'file' | 'dir' | 'symlink' }
  | { type: 'copy.progress'; objects: number; bytes: number; skipped: number }
  /** A collector's step (docs/gc.md). */
  | { type: 'gc.phase'; phase: 'mark' | 'repack' | 'sweep-mark' | 'delete-packs' | 'housekeeping' }
  /** A bundle's metadata was removed (`bundle forget`, retention, `bundle rewrite`); gc reclaims its chunks. */
  | { type: 'bundle.forgotten'; repo: string; bundle: string; reason: string }
  /** `bundle rewrite` committed `bundle` in place of `from`, without `removed` entries. */
  | { type: 'bundle.rewritten'; repo: string; from: string; bundle: string; removed: number }
  /** A read in place (mount, serve) met a damaged or missing chunk: that read failed, no bytes were served. */
  | { type: 'read.damaged'; repo: string; bundle: string; path: string; chunk: string; reason: string };

/** What `copy` does (or, with --dry-run, would do) to one object. */
export type CopyAction = 'copy' | 'skip' | 'delete';

export type Reporter = (event: EngineEvent) => void;

export const silentReporter: Reporter = () => undefined;
