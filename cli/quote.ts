/**
 * Names in text output, quoted as `ls` does (shell-escape style) when printing them raw would mislead: a name
 * holding a control character (a newline would forge a line), a byte that is not UTF-8, a bidi override, or a
 * quote. The result pastes back into a POSIX shell as the same name: `'a'$'\n''b'`, `'caf'$'\xE9'`. Other names
 * print as they are; a quoted name always starts with `'` or `$'`, and a name printed raw never holds a `'`.
 */
import { escapedByte } from '../engine/index.js';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\udc80-\udcff']/u;

export function quoteName(name: string): string {
  if (!UNSAFE.test(name)) return name;
  let out = '';
  let run = '';
  const flush = () => { if (run) out += `'${run}'`; run = ''; };
  for (const ch of name) {
    if (!UNSAFE.test(ch)) { run += ch; continue; }
    flush();
    out += ch === "'" ? "\\'" : `$'${escape(ch)}'`;
  }
  flush();
  return out;
}

function escape(ch: string): string {
  const named: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x1b': '\\e' };
  if (named[ch]) return named[ch];
  const c = ch.charCodeAt(0);
  const byte = escapedByte(c); // a byte that is not UTF-8
  if (byte !== undefined) return `\\x${hex(byte, 2)}`;
  return c < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
}

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
