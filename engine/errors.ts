/**
 * Errors with a `code`. The CLI maps codes to exit codes (DESIGN §9); the engine never decides how to print.
 */
export type ErrorCode =
  | 'USAGE'             // bad flag, malformed id or name
  | 'BAD_INPUT'         // missing or unreadable source, a file that changed while read
  | 'NOT_FOUND'         // unknown repo, bundle or label
  | 'ALREADY_EXISTS'    // create of something that exists
  | 'FORMAT'            // not a datamover store, or one of an unknown format version
  | 'CONFLICT'          // a compare-and-swap lost more often than it may retry
  | 'INTEGRITY'         // stored bytes do not match their hash
  | 'UNSAFE_PATH'       // a manifest path that would escape the destination
  | 'STORAGE'           // the storage failed permanently
  | 'IO'                // the local filesystem refused a write (ENOSPC, EACCES, EROFS, ...)
  | 'COLLECTED'         // a writer's gc lease was revoked (it stalled past its lifetime): nothing committed
  | 'INTERRUPTED';

export class DatamoverError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatamoverError';
  }
}

export const usageError = (msg: string) => new DatamoverError('USAGE', msg);
export const badInput = (msg: string, cause?: unknown) => new DatamoverError('BAD_INPUT', msg, { cause });
export const notFound = (msg: string) => new DatamoverError('NOT_FOUND', msg);
export const integrityError = (msg: string) => new DatamoverError('INTEGRITY', msg);

export function isDatamoverError(err: unknown, code?: ErrorCode): err is DatamoverError {
  return err instanceof DatamoverError && (code === undefined || err.code === code);
}

/** An IO error naming `file`; errors that are already DatamoverErrors pass through. */
export function ioError(file: string, err: unknown): DatamoverError {
  if (err instanceof DatamoverError) return err;
  const code = errnoCode(err);
  const message = withoutAnchors((err as Error).message?.replace(/^[A-Z]+: /, '') ?? String(err));
  return new DatamoverError('IO', `${file}: ${code ? `${code} ` : ''}${message}`, { cause: err });
}

/**
 * A system error's message without the `, open '/proc/self/fd/…'` tail that names a descriptor-anchored path
 * (destination-dirs.ts): meaningless to a user, and `file` already names the entry.
 */
function withoutAnchors(message: string): string {
  return message.replace(/, [a-z]+ '\/proc\/self\/fd\/[^]*$/, '');
}

/** The errno code of a Node system error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * A USAGE error about one input the caller gave, named by `field` ('store', 'endpoint', 'since', 'include', ...)
 * rather than by how it was given: a front end words it with its own flag for the field (the CLI: `--store`).
 * The message reads `<field> <subject>: <problem>`.
 */
export class InputError extends DatamoverError {
  constructor(readonly field: string, readonly subject: string, readonly problem: string) {
    super('USAGE', `${field} ${subject}: ${problem}`);
  }
}
