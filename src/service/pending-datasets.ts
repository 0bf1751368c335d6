import { Mutex } from '../util/mutex.ts';

/**
 * Training datasets being persisted in the background, per feature view. A version number is reserved the moment
 * its rows exist in memory, so concurrent requests never share one; readers of a view wait for its pending writes,
 * so a dataset is visible to every later call in the same store once its rows are returned.
 */
export class PendingDatasets<R> {
  private readonly pending = new Map<string, Map<number, Promise<R>>>();
  private readonly allocation = new Mutex();

  /**
   * Reserves the next version of a view (one above every stored and pending one) and starts `persist(version)`
   * without waiting for it. Resolves with the version once it is reserved.
   */
  start(view: string, stored: () => Promise<readonly number[]>, persist: (version: number) => Promise<R>): Promise<number> {
    return this.allocation.run(async () => {
      const versions = [...(await stored()), ...(this.pending.get(view)?.keys() ?? [])];
      const version = versions.reduce((max, v) => Math.max(max, v), 0) + 1;
      const byVersion = this.pending.get(view) ?? new Map<number, Promise<R>>();
      this.pending.set(view, byVersion);
      // Started on a later task, so the rows are sent back to the caller before the write's own work begins.
      // A successful write leaves the map (its record is stored); a failed one stays, so its version is never
      // handed out again in this session and whoever asks for it gets the failure, not another dataset's record.
      const job = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => persist(version)).then((record) => {
        byVersion.delete(version);
        if (byVersion.size === 0 && this.pending.get(view) === byVersion) this.pending.delete(view);
        return record;
      });
      // Failures reach whoever awaits the job (see get); an unobserved one must not become an unhandled rejection.
      job.catch(() => undefined);
      byVersion.set(version, job);
      return version;
    });
  }

  /** The pending write of one version, if there is one. */
  get(view: string, version: number): Promise<R> | undefined {
    return this.pending.get(view)?.get(version);
  }

  /** Waits until every write of a view started so far has ended (successfully or not). */
  async settled(view: string): Promise<void> {
    await this.allocation.run(() => Promise.resolve()); // a reservation in progress has registered its job
    await Promise.allSettled([...(this.pending.get(view)?.values() ?? [])]);
  }

  /** Waits until every write started so far has ended. */
  async drain(): Promise<void> {
    await this.allocation.run(() => Promise.resolve());
    await Promise.allSettled([...this.pending.values()].flatMap((m) => [...m.values()]));
  }
}
