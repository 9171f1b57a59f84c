/**
 * The byte budget of an upload, as a pool of equal buffers. Buffers are reused (fresh memory is expensive
 * here, DESIGN §7) and lent out at most `budget / size` at a time: `acquire` waits when all are out, which is
 * what holds the whole pipeline's memory flat whatever the number or size of files.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly waiters: ((buf: ArrayBuffer) => void)[] = [];
  private created = 0;
  readonly capacity: number;

  constructor(readonly bufferSize: number, budgetBytes: number) {
    this.capacity = Math.max(4, Math.floor(budgetBytes / bufferSize));
  }

  get outstanding(): number { return this.created - this.free.length; }

  /** A buffer of `bufferSize` bytes; waits while the budget is spent. */
  acquire(): Promise<ArrayBuffer> {
    const buf = this.free.pop();
    if (buf) return Promise.resolve(buf);
    if (this.created < this.capacity) {
      this.created++;
      return Promise.resolve(new ArrayBuffer(this.bufferSize));
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a buffer back. A buffer lost to a failed worker is replaced by calling `forget()` instead. */
  release(buf: ArrayBuffer): void {
    if (buf.byteLength !== this.bufferSize) return this.forget();
    const waiter = this.waiters.shift();
    if (waiter) waiter(buf);
    else this.free.push(buf);
  }

  /** Accounts for a buffer that will not come back, so a new one may be made. */
  forget(): void {
    this.created--;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.created++;
      waiter(new ArrayBuffer(this.bufferSize));
    }
  }
}
