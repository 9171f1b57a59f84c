/** What every handler of the server shares: the store, who reads, where events go, and how bundles are opened. */
import type { Reporter } from '../events.js';
import type { BundleReader } from '../read/bundle-reader.js';
import type { Repo } from '../repo.js';
import type { Store } from '../store.js';
import type { Contributor } from '../vocab.js';
import type { Exchange } from './exchange.js';

export interface ServeContext {
  store: Store;
  /** The contributor the read log names for reads through this server (with each client's address). */
  contributor: Contributor;
  report: Reporter;
  /**
   * A reader of bundle `ref` of `repo` for one request, closed by the caller when the response is done. With
   * `logged`, closing it records the files and bytes read in the read log, with the client's address.
   */
  openReader(ex: Exchange, repo: Repo, ref: string, logged: boolean): Promise<BundleReader>;
}
