// CPU time of the benchmark's Chromium, read from /proc by bench/run.mjs through `window.benchCpu`
// (page.exposeFunction). Wall time on a shared 2-core machine grows with whatever else runs; CPU time barely does.

interface CpuReading {
  /** CPU seconds used so far by this Chromium's processes (and the Node process serving the page). */
  mine: number;
  /** Busy CPU seconds of the whole machine so far. */
  machine: number;
  /** Epoch milliseconds of the reading. */
  at: number;
}

export interface CpuUse {
  /** CPU seconds this Chromium used in the interval (page, store worker, DuckDB worker, browser process). */
  seconds: number;
  /** Share of the machine's capacity other processes used in the interval (0..1). */
  othersShare: number;
}

/** Takes a reading; `stop()` returns the CPU use since. Null when the page runs without bench/run.mjs. */
export async function startCpu(): Promise<{ stop(): Promise<CpuUse> } | null> {
  const read = (window as unknown as { benchCpu?: () => Promise<CpuReading> }).benchCpu;
  if (read === undefined) return null;
  const first = await read();
  return {
    async stop() {
      const last = await read();
      const mine = last.mine - first.mine;
      const capacity = ((last.at - first.at) / 1000) * navigator.hardwareConcurrency;
      return { seconds: mine, othersShare: capacity > 0 ? Math.max(0, (last.machine - first.machine - mine) / capacity) : 0 };
    },
  };
}
