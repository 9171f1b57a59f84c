/**
 * A seeded generator of text-like files (source code, CSV, JSON, logs) for the compression bench and tests:
 * the same seed gives the same bytes. Words come from a fixed vocabulary with a skewed (Zipf-like) choice and
 * numbers are random, so the text compresses like real text of each kind does, neither trivially nor not at all.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type TextKind = 'source' | 'csv' | 'json' | 'log';
export const TEXT_KINDS: readonly TextKind[] = ['source', 'csv', 'json', 'log'];

/** mulberry32: floats in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'te', 'vi', 'do', 'pe', 'ga', 'fu', 'zo', 'bi', 'ch', 'st', 'tr', 'qu', 'an', 'er'];
const KEYWORDS = ['const', 'let', 'return', 'if', 'else', 'for', 'await', 'function', 'import', 'export', 'new', 'throw'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

/** A vocabulary of `n` made-up words, the same for every seed (so files of one corpus share it, like real text). */
function vocabulary(n: number): string[] {
  const r = rng(7);
  const words: string[] = [];
  for (let i = 0; i < n; i++) {
    const parts = 1 + Math.floor(r() * 4);
    let w = '';
    for (let j = 0; j < parts; j++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)];
    words.push(w);
  }
  return words;
}

const WORDS = vocabulary(4000);

class Text {
  private readonly r: () => number;
  constructor(seed: number) { this.r = rng(seed); }
  /** A word, the low ranks far more often (rank ~ u^3). */
  word(): string { return WORDS[Math.floor(this.r() ** 3 * WORDS.length)]!; }
  int(max: number): number { return Math.floor(this.r() * max); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  words(n: number): string { let s = this.word(); for (let i = 1; i < n; i++) s += ` ${this.word()}`; return s; }
}

const LINES: Record<TextKind, (t: Text, i: number) => string> = {
  source: (t) => {
    const indent = '  '.repeat(t.int(4));
    const k = t.int(5);
    if (k === 0) return `${indent}// ${t.words(3 + t.int(8))}\n`;
    if (k === 1) return `${indent}${t.pick(KEYWORDS)} ${t.word()}_${t.word()} = ${t.word()}(${t.word()}, ${t.int(1000)});\n`;
    if (k === 2) return `${indent}if (${t.word()}.${t.word()} > ${t.int(100)}) {\n`;
    if (k === 3) return `${indent}}\n`;
    return `${indent}${t.word()}.${t.word()}(${t.word()}, '${t.words(2)}');\n`;
  },
  csv: (t, i) => `${i},${t.word()},${t.word()} ${t.word()},${t.int(100000) / 100},${t.int(5000)},2026-0${1 + t.int(9)}-${10 + t.int(18)},${t.pick(['yes', 'no'])}\n`,
  json: (t, i) => `{"id":${i},"name":"${t.words(2)}","kind":"${t.word()}","score":${t.int(10000) / 100},"tags":["${t.word()}","${t.word()}"],"active":${t.int(2) === 1}}\n`,
  log: (t, i) => {
    const ms = 1_700_000_000_000 + i * 37 + t.int(30);
    return `${new Date(ms).toISOString()} ${t.pick(LEVELS)} [${t.word()}-${t.int(16)}] ${t.words(4 + t.int(8))} took=${t.int(2000)}ms id=${t.int(1e9).toString(16)}\n`;
  },
};

/** `bytes` bytes (cut at the end) of text of `kind` from `seed`. */
export function textBytes(kind: TextKind, seed: number, bytes: number): Buffer {
  const t = new Text(seed);
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = LINES[kind](t, i);
    parts.push(line);
    n += line.length; // ASCII only: characters are bytes
  }
  return Buffer.from(parts.join(''), 'latin1').subarray(0, bytes);
}

/** File sizes by kind in a text tree: small sources, mid-sized JSON, large CSV tables and logs. */
export const TREE_FILE_BYTES: Record<TextKind, number> = { source: 24 * 1024, json: 512 * 1024, csv: 6 * 1024 * 1024, log: 12 * 1024 * 1024 };

/**
 * Writes a text tree of `totalBytes` under `root`: files of each kind in turn, of `fileBytes` by kind (the last
 * shorter), `filesPerDir` to a directory. Returns the file count.
 */
export function writeTextTree(root: string, seed: number, totalBytes: number, fileBytes = TREE_FILE_BYTES, filesPerDir = 100): number {
  let files = 0;
  for (let done = 0; done < totalBytes; files++) {
    const kind = TEXT_KINDS[files % TEXT_KINDS.length]!;
    const size = Math.min(fileBytes[kind], totalBytes - done);
    const dir = path.join(root, `d${Math.floor(files / filesPerDir)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${files}.${kind === 'source' ? 'ts' : kind}`), textBytes(kind, seed * 100_003 + files, size));
    done += size;
  }
  return files;
}
