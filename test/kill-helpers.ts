/** Killing the binary at chosen moments of an upload. */
import { cliAsync } from './helpers.js';

/**
 * Starts an upload with --json and SIGKILLs it as soon as `landed` packs are durable (its `pack.durable`
 * events), before it could finish. Returns the blob bytes of the packs seen landing (a lower bound: a pack
 * may land between the last event read and the kill).
 */
export async function killAfterPacks(args: string[], landed: number): Promise<{ code: number | null; landedBytes: number; packs: number }> {
  const child = cliAsync(['--json', ...args]);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let landedBytes = 0;
  let packs = 0;
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const event = JSON.parse(line) as { type: string; bytes?: number };
      if (event.type !== 'pack.durable') continue;
      landedBytes += event.bytes!;
      if (++packs === landed) child.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, landedBytes, packs };
}

