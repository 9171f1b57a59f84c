import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { InputError } from '../errors.js';
import type { Contributor } from '../vocab.js';

/** Parses `Name <email>`. Fails with USAGE (an InputError of field `source`) otherwise. */
export function parseContributor(text: string, source: string): Contributor {
  const m = /^\s*(.+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(text);
  if (!m) throw new InputError(source, JSON.stringify(text), 'expected "Name <email>"');
  return { name: m[1], email: m[2] };
}

/**
 * The contributor: `author` (field `author` in errors), then DATAMOVER_AUTHOR, then the context's configured author (`configured`, with
 * where it came from for errors), then git's user config, then user@host.
 */
export function resolveContributor(
  author: string | undefined, env: NodeJS.ProcessEnv = process.env, configured?: { value: string; source: string },
): Contributor {
  if (author) return parseContributor(author, 'author');
  if (env.DATAMOVER_AUTHOR) return parseContributor(env.DATAMOVER_AUTHOR, 'DATAMOVER_AUTHOR');
  if (configured) return parseContributor(configured.value, configured.source);
  const git = gitIdentity();
  if (git) return git;
  const user = os.userInfo().username;
  return { name: user, email: `${user}@${os.hostname()}` };
}

function gitIdentity(): Contributor | undefined {
  try {
    const get = (k: string) => execFileSync('git', ['config', '--get', k], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const name = get('user.name');
    const email = get('user.email');
    return name && email ? { name, email } : undefined;
  } catch {
    return undefined;
  }
}
