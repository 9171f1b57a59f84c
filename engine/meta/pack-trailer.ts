/**
 * The pack trailer: what makes a pack self-describing, so that its blobs can be indexed from the pack alone
 * (a killed upload's packs, or after a damaged index object). Layout of a pack:
 *
 *   blob bytes … | entries: count × [sha256 (32 bytes), offset (u64 BE), length (u32 BE)] | footer (16 bytes)
 *   footer: magic "dmpackT1" (8 bytes) | entry count (u32 BE) | first 4 bytes of SHA-256 of the entries
 *
 * The trailer is the last part of the pack's upload, so a pack that exists has its whole trailer. Index
 * entries address blobs by offset and length, so readers never see the trailer; packs written before it
 * (no magic at the end) stay readable and are only not self-describing.
 *
 * A pack holding compressed blobs (format version 2) has trailer "dmpackT2" instead: each entry is one byte
 * longer, its blob's codec (0 raw, 1 zstd). Packs of raw blobs keep "dmpackT1", readable by older builds.
 */
import { createHash } from 'node:crypto';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';
import { openChunk } from '../../workers/check-chunk.js';

const MAGIC = Buffer.from('dmpackT1', 'latin1');
const MAGIC_CODECS = Buffer.from('dmpackT2', 'latin1');
const FOOTER = 16;
const ENTRY = 44;
/** "dmpackT2" entries: ENTRY, then the codec byte. */
const ENTRY_CODECS = 45;
const CODEC_BYTES = { zstd: 1 } as const;

/** The trailer and footer for a pack holding `entries` (in offset order), to append after its blobs. */
export function encodeTrailer(entries: readonly IndexEntry[]): Buffer {
  const withCodecs = entries.some((e) => e.codec !== undefined);
  const size = withCodecs ? ENTRY_CODECS : ENTRY;
  const out = Buffer.alloc(entries.length * size + FOOTER);
  entries.forEach((e, i) => {
    const at = i * size;
    out.write(e.blob, at, 32, 'hex');
    out.writeBigUInt64BE(BigInt(e.offset), at + 32);
    out.writeUInt32BE(e.length, at + 40);
    if (withCodecs) out[at + 44] = e.codec === undefined ? 0 : CODEC_BYTES[e.codec];
  });
  const body = out.subarray(0, entries.length * size);
  (withCodecs ? MAGIC_CODECS : MAGIC).copy(out, body.length);
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
    const magic = footer.subarray(0, 8);
    if (footer.length !== FOOTER || !(magic.equals(MAGIC) || magic.equals(MAGIC_CODECS))) return { kind: 'none' };
    const entrySize = magic.equals(MAGIC) ? ENTRY : ENTRY_CODECS;
    const count = footer.readUInt32BE(8);
    const dataEnd = size - FOOTER - count * entrySize;
    if (dataEnd < 0) return { kind: 'damaged', reason: `trailer lists ${count} blobs, more than the pack can hold` };
    const body = count ? await readAll(storage, key, { offset: dataEnd, length: count * entrySize }) : Buffer.alloc(0);
    if (body.length !== count * entrySize || !createHash('sha256').update(body).digest().subarray(0, 4).equals(footer.subarray(12))) {
      return { kind: 'damaged', reason: 'trailer checksum mismatch' };
    }
    const entries = parseEntries(pack, body, count, entrySize);
    const unknown = entries.find((e) => e.codec === null);
    if (unknown) return { kind: 'damaged', reason: `trailer entry ${unknown.blob.slice(0, 12)} has an unknown codec` };
    const bad = entries.find((e) => e.offset + e.length > dataEnd);
    if (bad) return { kind: 'damaged', reason: `trailer entry ${bad.blob.slice(0, 12)} ends past the blob bytes` };
    return { kind: 'listed', entries, dataEnd };
  } catch (err) {
    if (isStorageError(err, 'notFound')) return { kind: 'missing' };
    throw err;
  }
}

/** The entries of a trailer body; an entry whose codec byte is unknown has `codec` null (the caller refuses it). */
function parseEntries(pack: string, body: Buffer, count: number, entrySize: number): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const entry: IndexEntry = {
      blob: body.toString('hex', at, at + 32), pack,
      offset: Number(body.readBigUInt64BE(at + 32)), length: body.readUInt32BE(at + 40),
    };
    const codec = entrySize === ENTRY_CODECS ? body[at + 44]! : 0;
    if (codec === CODEC_BYTES.zstd) entry.codec = 'zstd';
    else if (codec !== 0) (entry as { codec: unknown }).codec = null;
    entries.push(entry);
  }
  return entries;
}

/**
 * Reads the blob bytes of a pack once, front to back, and hashes each listed blob (a compressed one after
 * decoding it). Returns the entries whose bytes match their hash and the hashes of those that do not.
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
  let held: Buffer[] = []; // a compressed blob's bytes, decoded whole when it ends
  const finish = async (e: IndexEntry) => {
    const matches = e.codec === undefined ? hasher.digest('hex') === e.blob
      : (await openChunk(Buffer.concat(held), e.length, e.codec, e.blob, pack)).data !== undefined;
    if (matches) good.push(e);
    else bad.push(e.blob);
    hasher = createHash('sha256');
    held = [];
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
      if (end > start && e.codec === undefined) hasher.update(bytes.subarray(start, end));
      else if (end > start) held.push(bytes.subarray(start, end));
      at = Math.max(end, at);
      if (pos + at >= e.offset + e.length) await finish(e);
      else break;
    }
    pos += bytes.length;
  }
  while (i < sorted.length) await finish(sorted[i]!); // the pack ended early: what is left cannot match
  return { good, bad };
}
