/**
 * `bundle mount <mountpoint> <ref>`: a read-only FUSE mount in the foreground. It prints one line (an event
 * with --json) once the mount answers, and ends, exit 0, when unmounted: by SIGINT/SIGTERM, by `umount` or
 * `fusermount -u`, or when the --done-file appears (the sidecar protocol, deploy/).
 */
import { existsSync, promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { type MountHandle, checkRef, isDatamoverError } from '../../engine/index.js';
import type { Action } from '../action.js';
import { byteSize } from '../context.js';

interface MountFlags { repo: string; cacheSize?: string; cacheDir?: string; readyFile?: string; doneFile?: string }

/** How often the --done-file is looked for. */
const DONE_POLL_MS = 500;

/** Adds `mount` to the `bundle` command. */
export function registerMount(program: Command, action: Action): void {
  const bundle = program.commands.find((c) => c.name() === 'bundle')!;
  bundle.command('mount <mountpoint> <ref>')
    .description('mount a bundle read-only with FUSE (ref: an id, id prefix, label or latest); runs until unmounted')
    .requiredOption('--repo <repo>', 'repo')
    .option('--cache-size <size>', 'verified chunks kept, like 256MiB (default 256MiB)')
    .option('--cache-dir <dir>', 'also keep chunks in this local directory (up to --cache-size)')
    .option('--ready-file <path>', 'write the bundle id to this file once mounted; removed at unmount')
    .option('--done-file <path>', 'unmount and exit 0 once this file exists')
    .action(action('bundle mount', async (ctx, mountpoint: string, ref: string, o: MountFlags) => {
      const repo = await ctx.repo(o.repo);
      const handle = await repo.mount(mountpoint, { ref: checkRef(ref, 'bundle') }, {
        contributor: ctx.contributor(), reporter: ctx.report, cacheBytes: byteSize(o.cacheSize, '--cache-size'),
        cacheDir: o.cacheDir, signal: ctx.signal,
        onError: (err) => {
          if (!isDatamoverError(err, 'INTEGRITY')) process.stderr.write(`datamover: warning: a read through the mount failed: ${(err as Error).message}\n`);
        },
      });
      const stopWatching = endOn(handle, ctx.signal, o.doneFile);
      if (o.readyFile) await fsp.writeFile(o.readyFile, `${handle.bundle.id}\n`);
      if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'mount.ready', bundle: handle.bundle.id, mountpoint: handle.mountpoint })}\n`);
      else process.stdout.write(`mounted ${handle.bundle.id} at ${handle.mountpoint}\n`);
      const counters = await handle.unmounted;
      stopWatching();
      if (o.readyFile) await fsp.rm(o.readyFile, { force: true });
      ctx.done({ bundle: handle.bundle.id, mountpoint: handle.mountpoint, ...counters },
        `unmounted ${handle.bundle.id} from ${handle.mountpoint}: ${counters.filesOpened} files, ${counters.bytesRead} bytes read`);
    }));
}

/** Unmounts on the interrupt signal or once `doneFile` exists; returns a function that stops watching. */
function endOn(handle: MountHandle, signal: AbortSignal, doneFile: string | undefined): () => void {
  const unmount = () => { void handle.unmount().catch((err: unknown) => process.stderr.write(`datamover: error: ${(err as Error).message}\n`)); };
  signal.addEventListener('abort', unmount, { once: true });
  const poll = doneFile ? setInterval(() => { if (existsSync(doneFile)) unmount(); }, DONE_POLL_MS) : undefined;
  return () => {
    signal.removeEventListener('abort', unmount);
    clearInterval(poll);
  };
}
