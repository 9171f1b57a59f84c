/**
 * Verified chunks kept for readers: a memory LRU bounded by bytes, and optionally a directory on local disk
 * (one file per chunk, named by its hash) bounded the same way. Only chunks whose hash was checked go in; a
 * chunk read back from disk is checked again before use (the directory is outside the store's guarantees).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { chunkDamage } from '../../workers/check-chunk.js';

export class MemoryChunkCache {
  private readonly chunks = new Map<string, Buffer>();
  private held = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number { return this.held; }

  /** The chunk, marked most recently used; undefined when not held. */
  get(hash: string): Buffer | undefined {
    const chunk = this.chunks.get(hash);
    if (!chunk) return undefined;
    this.chunks.delete(hash);
    this.chunks.set(hash, chunk);
    return chunk;
  }

  /** Keeps a verified chunk, evicting the least recently used past the bound (a chunk over it is not kept). */
  set(hash: string, chunk: Buffer): void {
    if (chunk.length > this.maxBytes || this.chunks.has(hash)) return;
    this.chunks.set(hash, chunk);
    this.held += chunk.length;
    for (const [key, old] of this.chunks) {
      if (this.held <= this.maxBytes) break;
      this.chunks.delete(key);
      this.held -= old.length;
    }
  }

  clear(): void {
    this.chunks.clear();
    this.held = 0;
  }
}

/**
 * Chunks in a local directory, bounded by bytes (least recently used removed first). Chunks left by an
 * earlier run are adopted when the cache opens, oldest first. Disk failures make a miss, never a failed read.
 */
export class DiskChunkCache {
  private readonly sizes = new Map<string, number>();
  private held = 0;

  private constructor(private readonly dir: string, private readonly maxBytes: number) {}

  static async open(dir: string, maxBytes: number): Promise<DiskChunkCache> {
    await fsp.mkdir(dir, { recursive: true });
    const cache = new DiskChunkCache(dir, maxBytes);
    const found: { name: string; size: number; at: number }[] = [];
    for (const name of await fsp.readdir(dir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isFile()) found.push({ name, size: st.size, at: st.mtimeMs });
    }
    found.sort((a, b) => a.at - b.at);
    for (const f of found) cache.note(f.name, f.size);
    await cache.evict();
    return cache;
  }

  /** The chunk if held and still matching its hash; a damaged copy is removed. */
  async get(hash: string, length: number): Promise<Buffer | undefined> {
    if (!this.sizes.has(hash)) return undefined;
    const data = await fsp.readFile(path.join(this.dir, hash)).catch(() => undefined);
    if (data && !chunkDamage(data, length, hash, 'cache')) {
      this.note(hash, data.length);
      return data;
    }
    this.forget(hash);
    await fsp.rm(path.join(this.dir, hash), { force: true }).catch(() => undefined);
    return undefined;
  }

  /** Stores a verified chunk (written to a temp name, then renamed: a crash never leaves a partial chunk). */
  async set(hash: string, chunk: Buffer): Promise<void> {
    if (this.sizes.has(hash) || chunk.length > this.maxBytes) return;
    const tmp = path.join(this.dir, `.${hash}.${process.pid}.tmp`);
    try {
      await fsp.writeFile(tmp, chunk);
      await fsp.rename(tmp, path.join(this.dir, hash));
      this.note(hash, chunk.length);
      await this.evict();
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private note(hash: string, size: number): void {
    this.forget(hash);
    this.sizes.set(hash, size);
    this.held += size;
  }

  private forget(hash: string): void {
    const size = this.sizes.get(hash);
    if (size === undefined) return;
    this.sizes.delete(hash);
    this.held -= size;
  }

  private async evict(): Promise<void> {
    for (const [hash] of this.sizes) {
      if (this.held <= this.maxBytes) break;
      this.forget(hash);
      await fsp.rm(path.join(this.dir, hash), { force: true }).catch(() => undefined);
    }
  }
}
