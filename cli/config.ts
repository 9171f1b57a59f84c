/**
 * Contexts (named store configurations) in `$DATAMOVER_HOME/config.json`. A `default` context on the embedded
 * local store exists without any setup. Chosen by `--context`, then DATAMOVER_CONTEXT, then `context use`.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatamoverError, type RoleUrls, defaultStorePath, errnoCode, ioError, usageError } from '../engine/index.js';

export interface ContextConfig {
  /** The store; with `stores`, the meta store and the default for every role not given. */
  store: string;
  endpoint?: string;
  author?: string;
  stores?: RoleUrls['stores'];
}

export interface ConfigFile { current?: string; contexts: Record<string, ContextConfig> }

export const home = (env = process.env) => env.DATAMOVER_HOME || path.join(os.homedir(), '.datamover');
const configPath = () => path.join(home(), 'config.json');
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkContextName(name: string): string {
  if (!NAME.test(name)) throw usageError(`context name ${JSON.stringify(name)} is invalid (letters, digits, '.', '_', '-')`);
  return name;
}

/** The config file (an empty one when missing). Fails with BAD_INPUT naming the file when it is not valid JSON. */
export function loadConfig(): ConfigFile {
  let text: string;
  try {
    text = readFileSync(configPath(), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { contexts: {} };
    throw new DatamoverError('BAD_INPUT', `${configPath()}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as ConfigFile;
    return { ...parsed, contexts: parsed.contexts ?? {} };
  } catch {
    throw new DatamoverError('BAD_INPUT', `${configPath()}: not valid JSON; fix or remove it`);
  }
}

/** Writes the config atomically (temp file, then rename): a crash never leaves half a file. IO naming it on failure. */
export function saveConfig(config: ConfigFile): void {
  const tmp = `${configPath()}.${process.pid}.tmp`;
  try {
    mkdirSync(home(), { recursive: true });
    writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, configPath());
  } catch (err) {
    rmSync(tmp, { force: true });
    throw ioError(configPath(), err);
  }
}

export function builtinDefault(): ContextConfig {
  return { store: defaultStorePath() };
}

/** The named context, or the current one. Fails with NOT_FOUND naming an unknown context. */
export function resolveContext(name?: string): { name: string; context: ContextConfig } {
  const config = loadConfig();
  const chosen = name ?? process.env.DATAMOVER_CONTEXT ?? config.current ?? 'default';
  checkContextName(chosen);
  const context = config.contexts[chosen] ?? (chosen === 'default' ? builtinDefault() : undefined);
  if (!context) throw new DatamoverError('NOT_FOUND', `context ${chosen} not found (see \`datamover context list\`)`);
  return { name: chosen, context };
}
