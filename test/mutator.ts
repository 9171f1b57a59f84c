/**
 * The mutation test's toolkit: a seeded tree whose every file is tracked with every whole version ever written
 * to it (by hash), a mutator that changes it (same-size rewrites in place, growth, truncation, deletion, a swap
 * for a FIFO, directory renames), and the check of a bundle against what was written.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;

export const MUTATION_KINDS = ['rewrite', 'grow', 'truncate', 'delete', 'fifo', 'rename'] as const;

/** A seeded generator: every choice of a run follows from its seed. */
export { rng } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One file of the tree: where it is now, every path it had, its content now, every whole version it had. */
export interface Tracked {
  rel: string;
  paths: Set<string>;
  data: Buffer;
  versions: Set<string>;
  /** Deleted, or swapped for a FIFO: it may be missing from a bundle. */
  gone: boolean;
  /** Touched by the mutator (changed, moved or removed): a failure or a skip may name it. */
  mutated: boolean;
}

export class MutatedTree {
  readonly files: Tracked[] = [];
  /** Renamed directories, old and new relative paths: a listing failure may name them. */
  readonly movedDirs = new Set<string>();
  readonly log: string[] = [];
  private readonly dirs: string[] = [];

  /**
   * `pool`: seeded bytes every version is cut from, at a random offset, so two versions differ everywhere.
   * The tree: `small` files of 64-128 KiB and `large` ones of 4-8.5 MiB (2-3 chunks of 4 MiB) in directories
   * d0..d5, some nested.
   */
  constructor(
    readonly root: string, private readonly pool: Buffer, private readonly random: () => number, small: number, private readonly large: number,
    private readonly kinds: readonly string[] = MUTATION_KINDS,
  ) {
    for (let d = 0; d < 6; d++) this.dirs.push(`d${d}`);
    for (let i = 0; i < small + large; i++) {
      const size = i < large ? 4 * MiB + 1 + this.int(4.5 * MiB) : 64 * KiB + this.int(64 * KiB);
      const dir = this.dirs[this.int(this.dirs.length)]!;
      const rel = `${dir}/${this.int(3) === 0 ? 'sub/' : ''}f${i}.bin`;
      const data = this.content(size, i, 0);
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), data);
      this.files.push({ rel, paths: new Set([rel]), data, versions: new Set([sha(data)]), gone: false, mutated: false });
    }
  }

  /** One random mutation; returns what it did. */
  mutate(): string {
    const kinds = ([
      ['rewrite', 5, () => this.rewrite()], ['grow', 2, () => this.grow()], ['truncate', 2, () => this.truncate()],
      ['delete', 1, () => this.remove()], ['fifo', 1, () => this.fifo()], ['rename', 1, () => this.renameDir()],
    ] as const).filter(([kind]) => this.kinds.includes(kind)).map(([, weight, run]) => [weight, run] as const);
    let pick = this.random() * kinds.reduce((n, [w]) => n + w, 0);
    for (const [weight, run] of kinds) {
      if ((pick -= weight) < 0) {
        const done = run();
        this.log.push(done);
        return done;
      }
    }
    return 'nothing';
  }

  /** A whole new content of the same size, written in place (no truncation) in 1-4 writes. */
  private rewrite(): string {
    const f = this.live();
    if (!f) return 'nothing';
    const data = this.content(f.data.length, this.files.indexOf(f), f.versions.size);
    const fd = openSync(this.abs(f), 'r+');
    const pieces = 1 + this.int(4);
    const step = Math.ceil(data.length / pieces);
    for (let at = 0; at < data.length; at += step) writeSync(fd, data, at, Math.min(step, data.length - at), at);
    closeSync(fd);
    return this.changed(f, data, `rewrite ${f.rel} in ${pieces} writes`);
  }

  private grow(): string {
    const f = this.live();
    if (!f) return 'nothing';
    const more = this.content(1 + this.int(512 * KiB), this.files.indexOf(f), f.versions.size);
    const fd = openSync(this.abs(f), 'a');
    writeSync(fd, more);
    closeSync(fd);
    return this.changed(f, Buffer.concat([f.data, more]), `grow ${f.rel} by ${more.length}`);
  }

  private truncate(): string {
    const f = this.live();
    if (!f) return 'nothing';
    const size = this.int(f.data.length);
    const fd = openSync(this.abs(f), 'r+');
    ftruncateSync(fd, size);
    closeSync(fd);
    return this.changed(f, f.data.subarray(0, size), `truncate ${f.rel} to ${size}`);
  }

  private remove(): string {
    const f = this.live();
    if (!f) return 'nothing';
    rmSync(this.abs(f));
    Object.assign(f, { gone: true, mutated: true });
    return `delete ${f.rel}`;
  }

  private fifo(): string {
    const f = this.live();
    if (!f) return 'nothing';
    rmSync(this.abs(f));
    execFileSync('mkfifo', [this.abs(f)]);
    Object.assign(f, { gone: true, mutated: true });
    return `fifo ${f.rel}`;
  }

  private renameDir(): string {
    const i = this.int(this.dirs.length);
    const from = this.dirs[i]!;
    if (from.includes('-moved')) return 'nothing';
    const to = `${from}-moved`;
    renameSync(path.join(this.root, from), path.join(this.root, to));
    this.dirs[i] = to;
    this.movedDirs.add(from).add(to);
    for (const f of this.files) {
      if (!f.rel.startsWith(`${from}/`)) continue;
      f.rel = to + f.rel.slice(from.length);
      f.paths.add(f.rel);
      f.mutated = true;
    }
    return `rename ${from} -> ${to}`;
  }

  private changed(f: Tracked, data: Buffer, what: string): string {
    f.data = Buffer.from(data);
    f.versions.add(sha(f.data));
    f.mutated = true;
    return what;
  }

  /** A file still there: half the time a large one, whose ranges are read by several tasks (where tears hide). */
  private live(): Tracked | undefined {
    const large = this.files.slice(0, this.large).filter((f) => !f.gone);
    const alive = this.random() < 0.5 && large.length ? large : this.files.filter((f) => !f.gone);
    return alive.length ? alive[this.int(alive.length)] : undefined;
  }

  private abs(f: Tracked): string {
    return path.join(this.root, f.rel);
  }

  /** `size` bytes of the pool from a random offset (wrapping), tagged with the file and version. */
  private content(size: number, file: number, version: number): Buffer {
    const out = Buffer.alloc(size);
    let at = 0;
    let from = this.int(this.pool.length);
    while (at < size) {
      const n = Math.min(size - at, this.pool.length - from);
      this.pool.copy(out, at, from, from + n);
      at += n;
      from = 0;
    }
    out.write(`file ${file} version ${version} `.slice(0, size));
    return out;
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Whether `rel` (a path a failure or skip names) is one the mutator touched. */
  touched(rel: string): boolean {
    if ([...this.movedDirs].some((d) => rel === d || rel.startsWith(`${d}/`))) return true;
    return this.files.some((f) => f.mutated && f.paths.has(rel));
  }

  /**
   * What is wrong with `dest`, a download of the bundle the upload committed, given the paths it reported as
   * skipped: a file of no whole version (torn), a file missing though neither removed nor skipped, a skip of a
   * file the mutator never touched. Empty when the bundle is right.
   */
  checkBundle(dest: string, skipped: string[]): string[] {
    const problems: string[] = [];
    const present = listTree(dest);
    const owner = new Map<string, Tracked>();
    for (const f of this.files) for (const p of f.paths) owner.set(p, f);
    for (const rel of present) {
      const f = owner.get(rel);
      if (!f) problems.push(`${rel}: in the bundle, but never written`);
      else if (!f.versions.has(sha(readFileSync(path.join(dest, rel))))) problems.push(`${rel}: matches none of its ${f.versions.size} versions (torn)`);
    }
    const covered = (rel: string) => skipped.some((s) => rel === s || rel.startsWith(`${s}/`));
    for (const f of this.files) {
      const found = [...f.paths].filter((p) => present.has(p));
      if (found.length > 1) problems.push(`${found.join(' and ')}: one file stored twice`);
      if (!found.length && !f.gone && ![...f.paths].some(covered)) problems.push(`${f.rel}: missing, neither removed nor reported skipped`);
    }
    for (const s of skipped) {
      if (!this.touched(s)) problems.push(`${s}: reported skipped, but the mutator never touched it`);
      if (present.has(s)) problems.push(`${s}: reported skipped, yet in the bundle`);
    }
    return problems;
  }
}

/** Every regular file under `root`, relative; anything else but directories is listed as a problem path. */
function listTree(root: string): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(root, r));
      if (st.isDirectory()) walk(r);
      else out.add(st.isFile() ? r : `${r} (not a regular file)`);
    }
  };
  walk('');
  return out;
}
