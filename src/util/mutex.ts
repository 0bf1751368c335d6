/** Runs async tasks one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The chain only orders tasks; each caller handles its own task's failure through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
