/**
 * The pack trailer: what makes a pack self-describing, so that its blobs can be indexed from the pack alone
 * (a killed upload's packs, or after a damaged index object). Layout of a pack:
 *
 *   blob bytes … | entries: count × [sha256 (32 bytes), offset (u64 BE), length (u32 BE)] | footer (16 bytes)
 *   footer: magic "dmpackT1" (8 bytes) | entry count (u32 BE) | first 4 bytes of SHA-256 of the entries
 *
 * The trailer is the last part of the pack's upload, so a pack that exists has its whole trailer. Index
 * entries address blobs by offset and length, so readers never see the trailer; packs written before it
 * (no magic at the end) stay readable and are only not self-describing. The format version does not change.
 */
import { createHash } from 'node:crypto';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';

const MAGIC = Buffer.from('dmpackT1', 'latin1');
const FOOTER = 16;
const ENTRY = 44;

/** The trailer and footer for a pack holding `entries` (in offset order), to append after its blobs. */
export function encodeTrailer(entries: readonly IndexEntry[]): Buffer {
  const out = Buffer.alloc(entries.length * ENTRY + FOOTER);
  entries.forEach((e, i) => {
    const at = i * ENTRY;
    out.write(e.blob, at, 32, 'hex');
    out.writeBigUInt64BE(BigInt(e.offset), at + 32);
    out.writeUInt32BE(e.length, at + 40);
  });
  const body = out.subarray(0, entries.length * ENTRY);
  MAGIC.copy(out, body.length);
  out.writeUInt32BE(entries.length, body.length + 8);
  createHash('sha256').update(body).digest().copy(out, body.length + 12, 0, 4);
  return out;
}

/** What a pack's trailer says, or why it cannot be used. */
export type PackTrailer =
  | { kind: 'listed'; entries: IndexEntry[]; dataEnd: number }
  | { kind: 'none' } // written before packs had trailers
  | { kind: 'damaged'; reason: string }
  | { kind: 'missing' };

/** Reads the trailer of pack `pack` (`size`: its length, from a listing). Other storage failures throw. */
export async function readTrailer(storage: Storage, pack: string, size: number): Promise<PackTrailer> {
  if (size < FOOTER) return { kind: 'none' };
  const key = keys.pack(pack);
  try {
    const footer = await readAll(storage, key, { offset: size - FOOTER, length: FOOTER });
    if (footer.length !== FOOTER || !footer.subarray(0, 8).equals(MAGIC)) return { kind: 'none' };
    const count = footer.readUInt32BE(8);
    const dataEnd = size - FOOTER - count * ENTRY;
    if (dataEnd < 0) return { kind: 'damaged', reason: `trailer lists ${count} blobs, more than the pack can hold` };
    const body = count ? await readAll(storage, key, { offset: dataEnd, length: count * ENTRY }) : Buffer.alloc(0);
    if (body.length !== count * ENTRY || !createHash('sha256').update(body).digest().subarray(0, 4).equals(footer.subarray(12))) {
      return { kind: 'damaged', reason: 'trailer checksum mismatch' };
    }
    const entries = parseEntries(pack, body, count);
    const bad = entries.find((e) => e.offset + e.length > dataEnd);
    if (bad) return { kind: 'damaged', reason: `trailer entry ${bad.blob.slice(0, 12)} ends past the blob bytes` };
    return { kind: 'listed', entries, dataEnd };
  } catch (err) {
    if (isStorageError(err, 'notFound')) return { kind: 'missing' };
    throw err;
  }
}

function parseEntries(pack: string, body: Buffer, count: number): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * ENTRY;
    entries.push({
      blob: body.toString('hex', at, at + 32), pack,
      offset: Number(body.readBigUInt64BE(at + 32)), length: body.readUInt32BE(at + 40),
    });
  }
  return entries;
}

/**
 * Reads the blob bytes of a pack once, front to back, and hashes each listed blob. Returns the entries whose
 * bytes match their hash and the hashes of those that do not.
 */
export async function verifyListed(storage: Storage, pack: string, entries: readonly IndexEntry[], dataEnd: number): Promise<{ good: IndexEntry[]; bad: string[] }> {
  const sorted = [...entries].sort((a, b) => a.offset - b.offset);
  const good: IndexEntry[] = [];
  const bad: string[] = [];
  if (!sorted.length) return { good, bad };
  const stream = await storage.get(keys.pack(pack), { range: { offset: 0, length: dataEnd } });
  let pos = 0;
  let i = 0;
  let hasher = createHash('sha256');
  const finish = (e: IndexEntry) => {
    if (hasher.digest('hex') === e.blob) good.push(e);
    else bad.push(e.blob);
    hasher = createHash('sha256');
    i++;
  };
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    let at = 0;
    while (at < bytes.length && i < sorted.length) {
      const e = sorted[i]!;
      const start = Math.max(at, e.offset - pos);
      const end = Math.min(bytes.length, e.offset + e.length - pos);
      if (start >= bytes.length) break;
      if (end > start) hasher.update(bytes.subarray(start, end));
      at = Math.max(end, at);
      if (pos + at >= e.offset + e.length) finish(e);
      else break;
    }
    pos += bytes.length;
  }
  while (i < sorted.length) finish(sorted[i]!); // the pack ended early: what is left cannot match
  return { good, bad };
}
