/** The peers, run on the same data in the same process tree: `cp -r`, `rclone copy`, restic (local repo). */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { type Measure, timed } from './measure.js';

/** Installs `cmd` from Debian when missing and allowed (root, not in smoke mode). */
export function have(cmd: string, pkg = cmd, install = true): boolean {
  if (spawnSync('which', [cmd]).status === 0) return true;
  if (!install || process.getuid?.() !== 0) return false;
  spawnSync('apt-get', ['install', '-y', '-qq', pkg], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return spawnSync('which', [cmd]).status === 0;
}

export const fresh = (dir: string) => () => { rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true }); };

/** The environment peers get: an inherited AWS_CA_BUNDLE for another endpoint breaks rclone's TLS setup. */
export function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  return env;
}

export class Restic {
  readonly env: NodeJS.ProcessEnv;
  constructor(readonly repo: string) {
    this.env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: `${repo}-cache` };
  }
  init(): void { fresh(this.repo)(); rmSync(`${this.repo}-cache`, { recursive: true, force: true }); timed('restic', ['init', '-q'], this.env, { baseEnv: peerEnv() }); }
  backup(dir: string): Measure { return timed('restic', ['backup', '-q', dir], this.env, { baseEnv: peerEnv() }); }
  restore(target: string, include?: string): Measure {
    return timed('restic', ['restore', 'latest', '--target', target, ...(include ? ['--include', include] : [])], this.env, { baseEnv: peerEnv() });
  }
  /** Bytes the repository holds on disk. */
  size(): number { return duSize(this.repo); }
}

export function rcloneCopy(src: string, dest: string): Measure {
  return timed('rclone', ['copy', '--transfers', '8', '--checkers', '8', src, dest], {}, { baseEnv: peerEnv() });
}

export function cpR(src: string, dest: string): Measure {
  return timed('cp', ['-r', src, dest]);
}

/** Bytes under `dir` (apparent sizes). */
export function duSize(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split(/\s/)[0]);
}

