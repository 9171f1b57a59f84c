/**
 * Buffers made by the zstd binding live outside the JS heap and are freed only once a collection finds their
 * wrapper dead; V8 does not count them toward its next collection. A write worker allocates little else, so
 * decoded chunks piled up between collections: restoring a 512 MiB text tree, one chunk decoded at a time,
 * peaked at 959 MiB RSS. So every BUDGET_BYTES of such buffers a young-generation collection runs: the
 * wrappers die young, so that frees them (measured on a loop of 4 MiB compressions: 105 MiB instead of 471,
 * and less CPU than letting them pile up).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const BUDGET_BYTES = 32 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

/**
 * V8's collector, reached as `--expose-gc` reaches it: set at run time, the flag applies to contexts made
 * afterwards. Undefined where that is refused; the buffers are then freed at V8's own pace, as before.
 */
const collect: Collect | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as Collect;
  } catch {
    return undefined;
  }
})();

let since = 0;

/** Counts a native buffer of `bytes` just made; collects the young generation once BUDGET_BYTES have been. */
export function madeNativeBuffer(bytes: number): void {
  since += bytes;
  if (since < BUDGET_BYTES || !collect) return;
  since = 0;
  collect({ type: 'minor', execution: 'sync' });
}
