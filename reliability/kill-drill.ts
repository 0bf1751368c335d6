// The skeleton the kill drills share (ingest, materialize, register, push): the drill's result, written before it
// runs; the page its store is open in, which a kill may replace; the loop of iterations that each start some work,
// kill the store in the middle of it and open it again; and the end, which writes the figures and fails the test on
// any finding. What each iteration starts and checks stays in the drill.
import { expect } from 'vitest';
import type { Page } from 'playwright';
import type { PersistentBrowser } from '../test/support/harness.ts';
import { KILL_MODES, closeStore, kill, log, newDrillResult, reopen, writeResult, type DrillResult, type KillMode, type OpenOutcome } from './support.ts';

/** What `useHarness()` gives a drill: the harness page's address and the Chromium with a profile on disk. */
interface Harness {
  readonly url: string;
  readonly browser: PersistentBrowser;
}

/**
 * One run of a kill drill: its result (marked incomplete until {@link KillDrill.finish}, so a drill that dies
 * half-way shows as INCOMPLETE on the card), the page its store is open in, and the kills and reopens so far.
 *
 * @example
 * const drill = await KillDrill.start(harness, 'push-kill', 'drill_push', { mustBeZero: { tornBatches: 0, lostCommits: 0, failedOpens: 0 } });
 * await drill.open();
 * await killLoop(drill, 6, async (i, mode) => {
 *   await startInPage(drill.page, PAGE, 'push', { settings });
 *   await drill.kill(mode);
 *   const open = await drill.reopen(`iteration ${i}`);
 *   if (!open.opened) return null;
 *   return `${mode} kill: reopened in ${open.ms} ms`;
 * });
 * await drill.close();
 * await drill.finish({ ...killFigures(drill.kills), slowestOpenMs: drill.slowestOpenMs });
 */
export class KillDrill {
  /** The kills so far, by mode. */
  readonly kills: Record<KillMode, number> = { worker: 0, page: 0, crash: 0 };
  /** The longest a reopen took so far. */
  slowestOpenMs = 0;
  private readonly started = Date.now();
  private current: Page | null = null;

  private constructor(
    private readonly harness: Harness,
    private readonly store: string,
    readonly result: DrillResult,
  ) {}

  /** Starts the drill `drill` on the store named `store`: its result, incomplete, is written at once. */
  static async start(harness: Harness, drill: string, store: string, start: Parameters<typeof newDrillResult>[1]): Promise<KillDrill> {
    const run = new KillDrill(harness, store, newDrillResult(drill, start));
    await writeResult(run.result);
    return run;
  }

  /** Records a finding and prints it (a bound function: drills pass it around). */
  readonly finding = (text: string): void => {
    this.result.findings.push(text);
    log(`FINDING ${text}`);
  };

  /** The page the store is open in. */
  get page(): Page {
    if (this.current === null) throw new Error('the drill has no page open; call open() first');
    return this.current;
  }

  /** Opens a harness page, runs `before` in it (a drill's set-up before the store opens, if any), then opens the store. */
  async open(before?: (page: Page) => Promise<void>): Promise<void> {
    const page = await this.harness.browser.open(this.harness.url);
    this.current = page;
    await before?.(page);
    expect((await reopen(page, this.store)).opened).toBe(true);
  }

  /** Kills the store in the given way (see {@link kill}) and counts the kill; the page may be a new one after. */
  async kill(mode: KillMode): Promise<void> {
    this.kills[mode]++;
    this.current = await kill(this.page, mode, this.harness.url);
  }

  /**
   * Opens the store again after a kill. When it does not open within 20 s, counts a failed open and records a finding
   * with `repeat` (what repeats the iteration); the caller then ends its iteration with null.
   */
  async reopen(repeat: string): Promise<OpenOutcome> {
    const open = await reopen(this.page, this.store);
    this.slowestOpenMs = Math.max(this.slowestOpenMs, open.ms);
    if (!open.opened) {
      this.result.mustBeZero['failedOpens']!++;
      this.finding(`the store did not open within 20 s after ${repeat}: ${open.errors.join(' | ')}`);
    }
    return open;
  }

  /** Closes the store and its page. */
  async close(): Promise<void> {
    await closeStore(this.page);
    await this.page.close();
    this.current = null;
  }

  /** Adds `figures`, marks the result complete and writes it; then fails the test if there was any finding. */
  async finish(figures: Record<string, number | string>): Promise<void> {
    Object.assign(this.result.figures, figures);
    this.result.complete = true;
    this.result.durationMs = Date.now() - this.started;
    await writeResult(this.result);
    expect(this.result.findings).toEqual([]);
  }
}

/** The kills by mode as the card's figures `killsWorker`, `killsPage` and `killsCrash`. */
export function killFigures(kills: Record<KillMode, number>): Record<string, number> {
  return { killsWorker: kills.worker, killsPage: kills.page, killsCrash: kills.crash };
}

/** The modes take turns, so that a short run meets each of them. */
const turns = (i: number): KillMode => KILL_MODES[(i - 1) % KILL_MODES.length]!;

/**
 * Runs iterations 1 … `iterations` of a kill drill. Iteration `i` kills in the mode `modeOf(i)` (by default the modes
 * take turns): `iteration` starts the work, kills the store ({@link KillDrill.kill}), opens it again
 * ({@link KillDrill.reopen}) and checks what it finds. It returns its progress line, printed after `i/iterations`, or
 * null when the store did not open: nothing more can be checked in this profile, so the loop ends.
 */
export async function killLoop(
  drill: KillDrill,
  iterations: number,
  iteration: (i: number, mode: KillMode) => Promise<string | null>,
  modeOf: (i: number) => KillMode = turns,
): Promise<void> {
  for (let i = 1; i <= iterations; i++) {
    const line = await iteration(i, modeOf(i));
    if (line === null) break;
    drill.result.iterations = i;
    log(`${i}/${iterations} ${line}`);
  }
}
