/**
 * Tar headers (POSIX pax interchange format: ustar blocks, with a pax extended header before an entry whose name,
 * link target, size or time does not fit ustar). Written here rather than taken from a package: headers are the
 * whole of it, about a hundred lines, and the server streams the data between them itself.
 */
import { isUtf8 } from 'node:buffer';
import { bytesOf } from '../fs-path.js';
import type { ReaderEntry } from '../read/bundle-reader.js';

export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/**
 * An entry as the archive holds it: a reader entry without its manifest record, its `path` the one inside the
 * archive (`/`-separated, a manifest string: escaped bytes stand for themselves).
 */
export type TarEntry = Omit<ReaderEntry, 'entry'>;

const MAX_OCTAL_11 = 8 ** 11 - 1; // the largest size or time a 12-byte ustar field holds

/** The header block(s) of `entry`: a pax header when something does not fit ustar, then the ustar header. */
export function tarHeader(entry: TarEntry): Buffer {
  const name = bytesOf(entry.type === 'dir' ? `${entry.path}/` : entry.path);
  const link = entry.target === undefined ? Buffer.alloc(0) : bytesOf(entry.target);
  const size = entry.type === 'file' ? entry.size : 0;
  const mtime = Math.floor(entry.mtimeMs / 1000);
  const records: [string, Buffer][] = [];
  if (!fitsUstar(name)) records.push(['path', name]);
  if (!fitsUstar(link)) records.push(['linkpath', link]);
  if (size > MAX_OCTAL_11) records.push(['size', Buffer.from(String(size))]);
  if (mtime < 0 || mtime > MAX_OCTAL_11) records.push(['mtime', Buffer.from(String(mtime))]);
  if (records.some(([, v]) => !isUtf8(v))) records.unshift(['hdrcharset', Buffer.from('BINARY')]);
  const ustar = ustarBlock({
    name: fitsUstar(name) ? name : asciiStandIn(name), link: fitsUstar(link) ? link : asciiStandIn(link),
    type: entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', mode: entry.mode & 0o7777,
    size: size > MAX_OCTAL_11 ? 0 : size, mtime: mtime < 0 || mtime > MAX_OCTAL_11 ? 0 : mtime,
  });
  if (!records.length) return ustar;
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  const pax = ustarBlock({ name: Buffer.from('PaxHeaders/entry'), link: Buffer.alloc(0), type: 'x', mode: 0o644, size: body.length, mtime: 0 });
  return Buffer.concat([pax, body, padding(body.length), ustar]);
}

/** Zero bytes that fill the last block of `size` bytes of data. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

const fitsUstar = (b: Buffer): boolean => b.length <= 100 && b.every((c) => c >= 0x20 && c < 0x7f);

/** What the ustar field holds when a pax record carries the real value: readers without pax see something sane. */
function asciiStandIn(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/[^\x20-\x7e]/g, '_').slice(-100), 'latin1');
}

/** One pax record, `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=\n`) + value.length;
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

interface UstarFields { name: Buffer; link: Buffer; type: string; mode: number; size: number; mtime: number }

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  f.name.copy(b, 0, 0, 100);
  octal(b, 100, 8, f.mode);
  octal(b, 108, 8, 0); // uid
  octal(b, 116, 8, 0); // gid
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b.write(f.type, 156, 'latin1');
  f.link.copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 'latin1');
  b.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return b;
}

/** `value` as zero-padded octal digits filling `width - 1` bytes, then NUL. */
function octal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, 'latin1');
}
