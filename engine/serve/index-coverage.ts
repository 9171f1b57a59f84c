/**
 * A long-running server must see packs uploaded after it started: the store's blob index is loaded once and
 * kept, so a bundle committed later would read as "chunk in no index" (a false 502). A bundle's index objects
 * are written before its descriptor (DESIGN §6), so an index whose load started after the descriptor was read
 * holds every chunk of it. This keeps that true for every bundle the server opens, reloading at most once per
 * bundle newer than the loaded index.
 */
import type { Store } from '../store.js';
import type { BundleDescriptor } from '../vocab.js';

/** Bundles created this long before the index load are taken as covered without looking: clocks may differ. */
export const CLOCK_SKEW_MS = 10 * 60_000;

export class IndexCoverage {
  /** When the current index load started (this machine's clock); 0 before the first. */
  private loadStarted = 0;
  /** When this server first read each bundle's descriptor that was too young to be taken as covered. */
  private readonly firstSeen = new Map<string, number>();
  private reloading?: Promise<void>;

  constructor(private readonly store: Store) {}

  /** Loads the index (at start, so the first request does not pay for it). */
  async load(): Promise<void> {
    await this.reload();
  }

  /** Resolves once the loaded index covers `bundle`, whose descriptor was just read. */
  async cover(bundle: BundleDescriptor): Promise<void> {
    if (Date.parse(bundle.created) < this.loadStarted - CLOCK_SKEW_MS) return;
    if (!this.firstSeen.has(bundle.id)) this.firstSeen.set(bundle.id, Date.now());
    const seen = this.firstSeen.get(bundle.id)!;
    // A reload already under way may have started before the descriptor was read: then one more.
    while (this.loadStarted <= seen) await this.reload();
  }

  private reload(): Promise<void> {
    this.reloading ??= (async () => {
      const started = Date.now();
      this.store.indexChanged();
      await this.store.blobIndex();
      this.loadStarted = Math.max(started, this.loadStarted);
    })().finally(() => { this.reloading = undefined; });
    return this.reloading;
  }
}
