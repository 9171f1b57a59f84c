/**
 * Index objects written from entries held compactly (a collector's merged index): each line encoded straight
 * into bytes — no string or object per entry — and gzipped as it comes, so only the compressed bytes of the
 * object being written are held. The lines are exactly `JSON.stringify` of the IndexEntry (blob, pack, offset,
 * length, then codec when there is one), as `writeBlobIndex` writes them.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import { newId } from './ids.js';
import { LINE } from './index-lines.js';

/**
 * Lines handed on together: encoded, up to LINES_PER_CHUNK entries (a few hundred KiB); or, `gzipped`, the
 * bytes of an index object carried as they are (whole gzip members of whole lines, `IndexObjectBytes`).
 */
export interface LineChunk { bytes: Buffer; entries: number; gzipped?: boolean }

export const LINES_PER_CHUNK = 4096;

const END = Buffer.from('}\n', 'latin1');
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Bytes of a line besides its pack name (two 16-digit numbers at most). */
const LINE_MAX = 192;

/** Index lines as bytes; `take` hands them on and starts anew. */
export class IndexLineEncoder {
  private buf = Buffer.allocUnsafe(LINES_PER_CHUNK * LINE_MAX);
  private at = 0;
  private count = 0;

  get entries(): number { return this.count; }

  /** Appends the line of an entry whose hash is the 32 bytes of `hashes` at `start`; `pack` is its name's bytes. */
  add(hashes: Uint8Array, start: number, pack: Buffer, offset: number, length: number, zstd: boolean): void {
    this.reserve(LINE_MAX + pack.length);
    const { buf } = this;
    let at = copied(buf, this.at, LINE.blob);
    for (let i = start; i < start + 32; i++) {
      const byte = hashes[i]!;
      buf[at++] = HEX_DIGITS[byte >> 4]!;
      buf[at++] = HEX_DIGITS[byte & 15]!;
    }
    at = copied(buf, at, LINE.pack);
    at = copied(buf, at, pack);
    at = copied(buf, at, LINE.offset);
    at = digits(buf, at, offset);
    at = copied(buf, at, LINE.length);
    at = digits(buf, at, length);
    if (zstd) at = copied(buf, at, LINE.zstd);
    this.at = copied(buf, at, END);
    this.count++;
  }

  /** The lines so far, handed over (not copied): the encoder goes on in a buffer of its own. */
  take(): LineChunk {
    const chunk = { bytes: this.buf.subarray(0, this.at), entries: this.count };
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.at = 0;
    this.count = 0;
    return chunk;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

/**
 * `bytes` copied into `buf` at `at`, byte by byte (the pieces are a few bytes long: Buffer.copy costs more to
 * call than to copy them); returns where they end.
 */
function copied(buf: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) buf[at++] = bytes[i]!;
  return at;
}

/** The decimal digits of integer `n` (0 ≤ n < 2^53, as String(n) writes it) at `at`; returns where they end. */
function digits(buf: Buffer, at: number, n: number): number {
  let count = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) count++;
  for (let i = at + count - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) buf[i] = 0x30 + (x % 10);
  return at + count;
}

/**
 * Writes `chunks` (index lines of durable packs) as new index objects of at most `perObject` entries (a chunk
 * is never split: one larger than `perObject` is an object of its own). Returns how many objects were written.
 */
export async function writeIndexLines(storage: Storage, chunks: Iterable<LineChunk>, perObject: number): Promise<number> {
  let written = 0;
  let object: GzipChunks | undefined;
  let inObject = 0;
  const finish = async () => {
    if (!object) return;
    await storage.put(keys.index(newId()), await object.end(), { ifAbsent: true });
    written++;
    object = undefined;
    inObject = 0;
  };
  for (const chunk of chunks) {
    if (!chunk.entries) continue;
    if (inObject && inObject + chunk.entries > perObject) await finish();
    await (object ??= new GzipChunks()).write(chunk);
    inObject += chunk.entries;
  }
  await finish();
  return written;
}

/**
 * An index object gzipped a chunk at a time, each chunk its own gzip member (level 1, as `gzipText`), on the
 * thread pool: several chunks compress at once while the next is encoded; a chunk already gzipped is taken as
 * it is. Concatenated members are one valid gzip file (RFC 1952, 2.2), which every gunzip here reads whole;
 * each member costs 18 bytes.
 */
class GzipChunks {
  private readonly members: Promise<Buffer>[] = [];

  async write(chunk: LineChunk): Promise<void> {
    this.members.push(chunk.gzipped ? Promise.resolve(chunk.bytes) : gzipOnPool(chunk.bytes, { level: 1 }));
    // At most MEMBERS_AT_ONCE chunks wait uncompressed: the oldest is awaited before more are taken.
    if (this.members.length > MEMBERS_AT_ONCE) await this.members[this.members.length - 1 - MEMBERS_AT_ONCE];
  }

  async end(): Promise<Buffer[]> {
    return Promise.all(this.members);
  }
}

const gzipOnPool = promisify(gzip);
/** Chunks compressing at once: enough for the pool's four threads. */
const MEMBERS_AT_ONCE = 4;
