/** Test toolkit: temp dirs, seeded data, tree generation and comparison, running the built CLI. */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFormat } from '../engine/meta/format.js';
import { createRepo } from '../engine/meta/repos.js';
import type { Storage } from '../engine/storage/storage.js';

export const who = { name: 'Test', email: 'test@example.com' };

/** Makes `storage` a datamover store with an empty repo `r`; returns it. */
export async function withRepo<S extends Storage>(storage: S): Promise<S> {
  await openFormat(storage, true);
  await createRepo(storage, 'r', 'test repo', who);
  return storage;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');

const created: string[] = [];

/** A fresh directory under the system temp dir, removed when the test process exits (DATAMOVER_KEEP_TMP keeps it). */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `dm-${tag}-`));
  created.push(dir);
  return dir;
}

process.on('exit', () => {
  if (process.env.DATAMOVER_KEEP_TMP) return;
  for (const dir of created) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A test left a directory unremovable (no permissions, a tmpfs still mounted): open it up, then again.
      spawnSync('umount', ['-q', dir], { stdio: 'ignore' });
      spawnSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function seededBytes(seed: number, n: number): Buffer {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, n);
}

export function writeFile(root: string, rel: string, data: Buffer | string, mode?: number, mtimeSec?: number): void {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, data, mode === undefined ? undefined : { mode });
  if (mtimeSec !== undefined) utimesSync(abs, mtimeSec, mtimeSec);
}

/** The tree of the core issue: empty files, a multi-chunk file, many small files, unicode, nested symlinks, empty dirs. */
export function makeMixedTree(root: string, smallFiles: number): void {
  writeFile(root, 'empty.txt', '');
  writeFile(root, 'sub/empty-too', '');
  writeFile(root, 'big/multi-chunk.bin', seededBytes(1, 9 * 1024 * 1024 + 12345), 0o640, 1_600_000_000);
  for (let i = 0; i < smallFiles; i++) {
    writeFile(root, `small/d${i % 50}/f${i}.dat`, seededBytes(1000 + i, 100 + (i % 700)), i % 3 ? 0o644 : 0o600);
  }
  writeFile(root, 'unicode/日本語/ファイル.txt', 'こんにちは');
  writeFile(root, 'unicode/Ünïcødé ✓.txt', 'accents');
  writeFile(root, 'unicode/emoji-🚀.txt', 'rocket');
  mkdirSync(path.join(root, 'empty-dir/nested-empty'), { recursive: true });
  mkdirSync(path.join(root, 'links/deeper'), { recursive: true });
  symlinkSync('../big/multi-chunk.bin', path.join(root, 'links/to-big'));
  symlinkSync('../../unicode', path.join(root, 'links/deeper/to-unicode-dir'));
  symlinkSync('/nonexistent/target', path.join(root, 'links/dangling'));
  symlinkSync('to-big', path.join(root, 'links/link-to-link'));
}

export interface TreeRecord { type: string; mode?: number; mtime?: number; size?: number; sha?: string; target?: string }

/** Everything the round trip must preserve, keyed by relative path. */
export function describeTree(root: string): Map<string, TreeRecord> {
  const out = new Map<string, TreeRecord>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) });
        walk(r);
      } else {
        out.set(r, {
          type: 'file', mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), size: st.size,
          sha: createHash('sha256').update(readFileSync(abs)).digest('hex'),
        });
      }
    }
  };
  walk('');
  return out;
}

/** Lists every file under `root` (relative), skipping the store's temp area. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try { names = readdirSync(path.join(root, rel)); } catch { return; }
    for (const name of names.sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.tmp') continue;
      if (lstatSync(path.join(root, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out;
}

/** Tests never touch the user's ~/.datamover. */
const isolatedHome = tempDir('home');
/**
 * Off a terminal the CLI prints a first progress line once a command has run for a second; how long a command runs
 * depends on the machine's load, so tests that count stderr lines would depend on it too. Tests of that line set
 * DATAMOVER_PROGRESS_DELAY_MS themselves.
 */
const baseEnv = () => ({
  ...process.env, DATAMOVER_HOME: isolatedHome, DATAMOVER_AUTHOR: 'Test User <test@example.com>',
  DATAMOVER_PROGRESS_DELAY_MS: process.env.DATAMOVER_PROGRESS_DELAY_MS ?? '3600000',
});

export interface CliResult { code: number; stdout: string; stderr: string }

/** The summary object of a `--json` run: its last NDJSON line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function summaryOf(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

export function cli(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8', env: { ...baseEnv(), ...env },
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the binary without blocking this process's event loop (for servers running in the test process). */
export function cliAwait(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = cliAsync(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
}

/**
 * Runs the binary as `nobody` (uid 65534) through setpriv: permission tests need an unprivileged user when the
 * tests run as root. Every path it touches must be open to others.
 */
export function asNobody(args: string[], env: Record<string, string> = {}): CliResult {
  const home = tempDir('nobody-home');
  chmodSync(home, 0o777);
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, ...args], {
    encoding: 'utf8', env: { ...baseEnv(), DATAMOVER_HOME: home, ...env },
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [cliPath, ...args], {
    env: { ...baseEnv(), ...env }, stdio: 'pipe',
  });
}

type TestFn = () => void | Promise<void>;
type Register = (name: string, fn: TestFn) => void;

/**
 * `t` itself when `why` is undefined, else a registrar that counts the test as skipped and prints the reason:
 * a test that cannot run on this machine never passes by returning early.
 */
export function runsIf(t: { (name: string, fn: TestFn): void; skip: Register }, why: string | undefined): Register {
  if (why === undefined) return (name, fn) => t(name, fn);
  return (name, fn) => {
    console.log(`skipped: ${name} (${why})`);
    t.skip(`${name} [skipped: ${why}]`, fn);
  };
}

/** A seeded generator of floats in [0, 1) (mulberry32): every choice of a seeded test follows from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every object of a local store (key → sha256 of its bytes), to show a command changed nothing byte for byte. */
export function storeDigest(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of listFiles(root)) out.set(key, createHash('sha256').update(readFileSync(path.join(root, key))).digest('hex'));
  return out;
}
