// Samples the resident memory and CPU time of a process tree from /proc (Linux only): the Chromium the benchmark
// drives. CPU time is what makes numbers comparable on a busy machine: wall time grows when other processes take
// the cores, the CPU seconds a load needs barely do.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of one process (all its threads: the page, the store worker and DuckDB's worker), in ticks. */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // exited
  }
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = values;
  return user + nice + system + irq + softirq + steal;
}

/** pid → parent pid of every process visible in /proc. */
function parentsByPid() {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may contain spaces; the fields after the last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // the process exited between readdir and read: nothing to count
    }
  }
  return parents;
}

/** Every process below `root` (not `root` itself). */
export function descendantsOf(root) {
  const parents = parentsByPid();
  const children = new Map();
  for (const [pid, ppid] of parents) {
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const out = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift();
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function vmRssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0; // exited
  }
}

/** Proportional set size: shared pages split between the processes sharing them, so a sum over processes is fair. */
function pssBytes(pid) {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(rollup);
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0; // exited, or smaps_rollup unavailable
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Samples the Chromium processes below `rootPid` every `intervalMs`: summed VmRSS (shared pages counted once per
 * process, so an upper bound of the real footprint), summed PSS (shared pages split: the fair total) and the
 * largest single VmRSS (the renderer, which holds the page, the store worker and DuckDB's wasm heaps). `mark()`
 * starts a new measurement window and returns the current sample; `peak()` returns the highest values since.
 */
export function startRssSampler(rootPid, intervalMs = 100) {
  let pids = [];
  let lastScan = 0;
  let peakTotal = 0;
  let peakProcess = 0;
  let peakPss = 0;
  const sample = () => {
    const now = Date.now();
    if (now - lastScan > 1000) {
      // Chromium starts and ends helper processes (renderers, utilities) as it goes: rescan the tree each second.
      pids = descendantsOf(rootPid).filter((pid) => /chrom/i.test(commandOf(pid)));
      lastScan = now;
    }
    let total = 0;
    let pss = 0;
    let largest = 0;
    for (const pid of pids) {
      const rss = vmRssBytes(pid);
      total += rss;
      pss += pssBytes(pid);
      if (rss > largest) largest = rss;
    }
    peakTotal = Math.max(peakTotal, total);
    peakPss = Math.max(peakPss, pss);
    peakProcess = Math.max(peakProcess, largest);
    return { totalBytes: total, pssBytes: pss, processBytes: largest };
  };
  let timer = null;
  const start = () => {
    timer ??= setInterval(sample, intervalMs);
    timer.unref();
  };
  start();
  return {
    mark() {
      lastScan = 0;
      peakTotal = 0;
      peakProcess = 0;
      peakPss = 0;
      return sample();
    },
    peak() {
      sample();
      return { totalBytes: peakTotal, pssBytes: peakPss, processBytes: peakProcess };
    },
    current() {
      lastScan = 0;
      return sample();
    },
    /**
     * CPU counters: `mine` = CPU seconds used so far by the Chromium processes and this Node process (Vite),
     * `machine` = busy CPU seconds of the whole machine. Differences of two readings give a run's own CPU time and
     * how much other processes took meanwhile.
     */
    cpu() {
      pids = descendantsOf(rootPid).filter((pid) => /chrom/i.test(commandOf(pid)));
      lastScan = Date.now();
      const mine = [...pids, process.pid].reduce((sum, pid) => sum + cpuTicks(pid), 0);
      return { mine: mine / TICKS_PER_SECOND, machine: machineBusyTicks() / TICKS_PER_SECOND, at: Date.now() };
    },
    /**
     * Stops sampling until `resume()`. Latency measurements need it: reading a process's smaps_rollup takes that
     * process's memory-map lock, and every 100 ms that stalled the renderer's page faults and mmap calls long
     * enough to triple the p99 of a 0.5 ms IndexedDB read (deploy bench: raw 3-get p99 4.3 ms sampled, 1.7–2.1 ms not).
     */
    pause() {
      clearInterval(timer);
      timer = null;
    },
    resume() {
      start();
    },
    stop() {
      clearInterval(timer);
      timer = null;
    },
  };
}
