import { DatamoverError, InputError, displayName } from '../engine/index.js';

/** DESIGN §9: 0 ok, 1 failed, 2 bad usage, 3 partial, 4 integrity failure, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, partial: 3, integrity: 4, interrupted: 130 } as const;

/** `bundle status`: the folder and the bundle differ (0 when they are the same; failures keep the codes above). */
export const EXIT_DIFFERS = 5;

export function exitCodeFor(err: unknown): number {
  if (err instanceof DatamoverError) {
    switch (err.code) {
      case 'USAGE': return EXIT.usage;
      case 'INTEGRITY': case 'UNSAFE_PATH': return EXIT.integrity;
      case 'INTERRUPTED': return EXIT.interrupted;
      default: return EXIT.failed;
    }
  }
  return EXIT.failed;
}

export function errorCodeOf(err: unknown): string {
  if (err instanceof DatamoverError) return err.code;
  return 'INTERNAL';
}

/** The flag (or setting) through which the CLI takes each input the engine names in an InputError. */
const FLAG_OF: Record<string, string> = {
  listen: '--listen', token: '--token',
  store: '--store', endpoint: '--endpoint', since: '--since', include: '--include', exclude: '--exclude', shard: '--shard', author: '--author',
  'keep-last': '--keep-last', 'keep-hourly': '--keep-hourly', 'keep-daily': '--keep-daily', 'keep-weekly': '--keep-weekly',
  'keep-monthly': '--keep-monthly', 'keep-yearly': '--keep-yearly', 'keep-within': '--keep-within', force: '--force',
  input: '--input', output: '--output', run: '--run', depth: '--depth',
  files: '--files', 'sign-key': '--sign-key', 'public-key': '--public-key',
};

/** One line: what failed and on what; an input is named by its flag. */
export function errorLine(err: unknown): string {
  const message = err instanceof InputError ? `${FLAG_OF[err.field] ?? err.field} ${err.subject}: ${err.problem}`
    : err instanceof Error ? err.message : String(err);
  return displayName(message.split('\n')[0]!); // bytes that are not UTF-8 in a name show as \xNN
}
