/**
 * Test-only: a loopback proxy in front of the firebase Cloud Storage emulator that adds the three GCS behaviours
 * the emulator lacks (../shared notes: it ignores every precondition, finalises a chunked resumable upload on
 * its first chunk, and never checks a client's CRC32C):
 *  - `ifGenerationMatch` on uploads and deletes, checked and applied atomically per object (a per-name lock held
 *    from the check until the emulator has answered);
 *  - chunked resumable sessions (`Content-Range: bytes a-b/*` → 308 with `Range`), kept here until the last
 *    chunk and then handed to the emulator as one request;
 *  - CRC32C checks: `crc32c` in a multipart upload's metadata, `X-Goog-Hash: crc32c=` on a resumable upload's
 *    last request; a mismatch is a 400 and nothing is stored.
 * Storage, listing, reads and metadata stay the emulator's. Usage: node gcs-proxy.js <upstreamPort> [port]
 */
import http from 'node:http';
import { createCRC32 } from 'hash-wasm';

const upstreamPort = Number(process.argv[2]);
const listenPort = Number(process.argv[3] ?? 0);

interface Session { bucket: string; name: string; ifGenerationMatch?: number; chunks: Buffer[]; received: number; final?: Reply }
interface Reply { status: number; headers: http.OutgoingHttpHeaders; body: Buffer }

const sessions = new Map<string, Session>();
const locks = new Map<string, Promise<void>>();

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const before = locks.get(name) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => { release = r; });
  const chained = before.then(() => mine);
  locks.set(name, chained);
  await before;
  try {
    return await fn();
  } finally {
    release();
    if (locks.get(name) === chained) locks.delete(name);
  }
}

function upstream(method: string, path: string, headers: http.IncomingHttpHeaders, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h = { ...headers, host: `127.0.0.1:${upstreamPort}` };
    delete h['transfer-encoding'];
    if (body) h['content-length'] = String(body.length);
    const req = http.request({ host: '127.0.0.1', port: upstreamPort, method, path, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function generationOf(bucket: string, name: string): Promise<number> {
  const r = await upstream('GET', `/b/${bucket}/o/${encodeURIComponent(name)}`, {});
  if (r.status === 404) return 0;
  return Number((JSON.parse(r.body.toString()) as { generation?: string }).generation ?? 0);
}

async function crc32cBase64(data: Buffer): Promise<string> {
  const h = await createCRC32(0x82f63b78);
  h.init();
  h.update(data);
  return Buffer.from(h.digest('hex'), 'hex').toString('base64');
}

function json(status: number, message: string): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: { code: status, message } })) };
}

/** Splits a multipart/related body into its JSON metadata and its media. */
function parseMultipart(contentType: string, body: Buffer): { meta: Record<string, unknown>; media: Buffer } | undefined {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return undefined;
  const sep = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(sep);
  while (at >= 0) {
    const next = body.indexOf(sep, at + sep.length);
    if (next < 0) break;
    parts.push(body.subarray(at + sep.length, next));
    at = next;
  }
  const content = (p: Buffer) => {
    const start = p.indexOf('\r\n\r\n') + 4;
    return p.subarray(start, p.length - 2); // the CRLF before the next boundary
  };
  if (parts.length < 2) return undefined;
  return { meta: JSON.parse(content(parts[0]!).toString()) as Record<string, unknown>, media: content(parts[1]!) };
}

async function simpleUpload(req: http.IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
  const bucket = decodeURIComponent(url.pathname.split('/')[5] ?? '');
  const parsed = parseMultipart(String(req.headers['content-type'] ?? ''), body);
  const name = url.searchParams.get('name') ?? String(parsed?.meta.name ?? '');
  if (parsed?.meta.crc32c && parsed.meta.crc32c !== await crc32cBase64(parsed.media)) {
    return json(400, `Provided CRC32C "${String(parsed.meta.crc32c)}" doesn't match calculated CRC32C`);
  }
  const wanted = url.searchParams.get('ifGenerationMatch');
  return withLock(`${bucket}/${name}`, async () => {
    if (wanted !== null && Number(wanted) !== await generationOf(bucket, name)) return json(412, 'Precondition Failed');
    return upstream('POST', url.pathname + url.search, req.headers, body);
  });
}

async function startSession(req: http.IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
  const bucket = decodeURIComponent(url.pathname.split('/')[5] ?? '');
  const meta = body.length ? JSON.parse(body.toString()) as { name?: string } : {};
  const name = url.searchParams.get('name') ?? meta.name ?? '';
  const reply = await upstream('POST', url.pathname + url.search, req.headers, body);
  const location = String(reply.headers.location ?? '');
  const id = /upload_id=([^&]+)/.exec(location)?.[1];
  if (reply.status === 200 && id) {
    const wanted = url.searchParams.get('ifGenerationMatch');
    sessions.set(id, { bucket, name, chunks: [], received: 0, ...(wanted === null ? {} : { ifGenerationMatch: Number(wanted) }) });
    reply.headers.location = location.replace(/^https?:\/\/[^/]+/, `http://${req.headers.host}`);
  }
  return reply;
}

function persisted(s: Session): Reply {
  return { status: 308, headers: s.received ? { range: `bytes=0-${s.received - 1}` } : {}, body: Buffer.alloc(0) };
}

async function resumableChunk(req: http.IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
  const id = url.searchParams.get('upload_id') ?? '';
  const s = sessions.get(id);
  if (!s) return upstream('PUT', url.pathname + url.search, req.headers, body);
  if (s.final) return s.final;
  const m = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''));
  if (!m) return json(400, 'bad Content-Range');
  if (m[2] !== undefined) {
    const first = Number(m[2]);
    if (first > s.received) return json(400, `chunk starts at ${first}, ${s.received} bytes persisted`);
    const fresh = body.subarray(s.received - first);
    s.chunks.push(Buffer.from(fresh));
    s.received += fresh.length;
  }
  if (m[4] === '*') return persisted(s);
  if (Number(m[4]) !== s.received) return persisted(s);
  const data = Buffer.concat(s.chunks);
  const hash = /crc32c=([^,]+)/.exec(String(req.headers['x-goog-hash'] ?? ''))?.[1];
  if (hash && hash !== await crc32cBase64(data)) {
    sessions.delete(id);
    return json(400, `Provided CRC32C "${hash}" doesn't match calculated CRC32C`);
  }
  return withLock(`${s.bucket}/${s.name}`, async () => {
    if (s.ifGenerationMatch !== undefined && s.ifGenerationMatch !== await generationOf(s.bucket, s.name)) {
      sessions.delete(id);
      return json(412, 'Precondition Failed');
    }
    const headers: http.IncomingHttpHeaders = { ...req.headers, 'content-range': `bytes ${data.length ? `0-${data.length - 1}` : '*'}/${data.length}` };
    delete headers['x-goog-hash'];
    const reply = await upstream('PUT', url.pathname + url.search, headers, data);
    if (reply.status < 300) s.final = reply;
    return reply;
  });
}

async function conditionalDelete(req: http.IncomingMessage, url: URL): Promise<Reply> {
  const [, , bucket, , name] = url.pathname.replace(/^\/storage\/v1/, '').split('/').map(decodeURIComponent);
  const wanted = url.searchParams.get('ifGenerationMatch');
  return withLock(`${bucket}/${name}`, async () => {
    if (wanted !== null && Number(wanted) !== await generationOf(bucket!, name!)) return json(412, 'Precondition Failed');
    return upstream('DELETE', url.pathname + url.search, req.headers);
  });
}

async function route(req: http.IncomingMessage, body: Buffer): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const upload = url.pathname.startsWith('/upload/storage/v1/b/');
  if (upload && req.method === 'POST' && url.searchParams.get('uploadType') === 'multipart') return simpleUpload(req, url, body);
  if (upload && req.method === 'POST' && url.searchParams.get('uploadType') === 'resumable') return startSession(req, url, body);
  if (upload && req.method === 'PUT') return resumableChunk(req, url, body);
  if (upload && req.method === 'DELETE') {
    sessions.delete(url.searchParams.get('upload_id') ?? '');
    return { status: 499, headers: {}, body: Buffer.alloc(0) };
  }
  if (req.method === 'DELETE' && /\/b\/[^/]+\/o\//.test(url.pathname)) return conditionalDelete(req, url);
  return upstream(req.method ?? 'GET', url.pathname + url.search, req.headers, body.length ? body : undefined);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    route(req, Buffer.concat(chunks)).then(
      (reply) => {
        const headers = { ...reply.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(reply.body.length);
        res.writeHead(reply.status, headers).end(reply.body);
      },
      (err: Error) => res.writeHead(502).end(String(err.message)),
    );
  });
});
server.listen(listenPort, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`gcs proxy ready on http://127.0.0.1:${address.port}`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
