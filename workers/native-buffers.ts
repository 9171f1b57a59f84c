/**
 * Buffers made by the zstd binding live outside the JS heap and are freed only once a collection finds their
 * wrapper dead; V8 does not count them toward its next collection. A write worker allocates little else, so
 * decoded chunks pile up between collections. So every BUDGET_BYTES of decoded chunks a young-generation
 * collection runs: the wrappers die young, so that frees them. Measured restoring a 512 MiB text tree (quiet
 * machine, two runs each): 359–390 MiB peak RSS with it, 400–435 without, no slower. The hash workers' frames
 * are not counted: an upload of the same tree peaked at 356–359 MiB either way.
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
