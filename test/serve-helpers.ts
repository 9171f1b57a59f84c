/** Running `datamover serve` from the built binary, and raw HTTP requests to it (paths sent exactly as given). */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { type IncomingHttpHeaders, request } from 'node:http';
import { cliAsync } from './helpers.js';

export interface Served { url: string; child: ChildProcessWithoutNullStreams; stderr: () => string; stop: () => Promise<number | null> }

/** Starts `serve` on a free loopback port (unless `args` say otherwise); resolves once it prints its URL. */
export function startServe(store: string, args: string[] = ['--listen', '127.0.0.1:0'], env: Record<string, string> = {}): Promise<Served> {
  const child = cliAsync(['--store', store, 'serve', ...args], env);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void stop(); reject(new Error(`serve did not start: ${stderr}`)); }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, child, stderr: () => stderr, stop });
      }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code}: ${stderr}`)); });
  });
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection broke before the response was complete. */
  cut?: string;
}

/** One request; `path` goes on the wire as given (no normalisation of `..` or escapes). */
export function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers: { connection: 'close', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      const answer = (cut?: string) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), ...(cut ? { cut } : {}) });
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => (res.complete ? answer() : answer('incomplete')));
      res.on('aborted', () => answer('aborted'));
      res.on('error', (err) => answer(err.message));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A URL path for a bundle path: each name percent-encoded. */
export const encodedPath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
