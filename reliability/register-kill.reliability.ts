// Kill drill: the store is killed (worker terminated, tab closed, renderer crashed) while a model version is being
// registered (`store.models.register`, the path `store.train` ends in). After each kill the store must open, every
// listed version must load, predict exactly as the model it came from and export weights with the right SHA-256; a
// version is wholly there or absent; no acknowledged version is lost; the champion alias and its history stay as set.
import { describe, it } from 'vitest';
import { useHarness } from '../test/support/harness.ts';
import { KillDrill, killFigures, killLoop } from './kill-drill.ts';
import type { VersionCheck } from './pages/register.page.ts';
import { SEED, callPage, knob, log, seededRandom, settledInPage, sleep, startInPage } from './support.ts';

const ITERATIONS = knob('RELIABILITY_ITERATIONS', 50, 6);
const INPUTS = knob('RELIABILITY_MODEL_INPUTS', 1024, 512);
const UNITS = 4096;
const STORE = 'drill_register';
const PAGE = '/reliability/pages/register.page.ts';

const harness = useHarness();

interface Inspection {
  versions: VersionCheck[];
  champion: number | null;
  history: (number | null)[];
}

describe('kill while registering a model version', () => {
  it(`keeps every version whole or absent over ${ITERATIONS} kills`, async () => {
    const random = seededRandom(SEED + 2);
    const drill = await KillDrill.start(harness, 'register-kill', STORE, {
      mustBeZero: { tornBatches: 0, lostCommits: 0, failedOpens: 0, halfVersions: 0, duplicateVersions: 0, aliasDamage: 0 },
      figures: {},
    });
    const { result, finding } = drill;
    const expected = new Map<number, { sha256: string; prediction: number }>();
    const known = new Map<number, number>(); // attempt → version, once seen registered
    const championHistory: number[] = [];
    let registered = 0;
    let absent = 0;

    await drill.open();
    // Attempt 0, uninterrupted, times a registration and becomes the champion.
    const first = await callPage<{ sha256: string; prediction: number; bytes: number }>(drill.page, PAGE, 'prepare', { attempt: 0, inputs: INPUTS, units: UNITS });
    expected.set(0, first);
    const t0 = Date.now();
    const v0 = await callPage<number>(drill.page, PAGE, 'registerPrepared', { attempt: 0 });
    const registerMs = Date.now() - t0;
    known.set(0, v0);
    await callPage(drill.page, PAGE, 'setChampion', { version: v0 });
    championHistory.push(v0);
    Object.assign(result.figures, { registerMs, weightBytes: first.bytes });
    log(`one registration of ${first.bytes} weight bytes: ${registerMs} ms`);

    await killLoop(drill, ITERATIONS, async (i, mode) => {
      expected.set(i, await callPage(drill.page, PAGE, 'prepare', { attempt: i, inputs: INPUTS, units: UNITS }));
      const delay = Math.round(random() * 1.25 * registerMs);
      const repeat = `RELIABILITY_SEED=${SEED} iteration ${i} (${mode} kill ${delay} ms into a registration)`;
      await startInPage(drill.page, PAGE, 'registerPrepared', { attempt: i });
      await sleep(delay);
      const acked = (await settledInPage(drill.page, 'registerPrepared')) === 'resolved';
      await drill.kill(mode);
      const open = await drill.reopen(repeat);
      if (!open.opened) return null;
      const seen = await callPage<Inspection>(drill.page, PAGE, 'inspect', { inputs: INPUTS });
      for (const v of seen.versions) {
        const want = v.attempt === undefined ? undefined : expected.get(Number(v.attempt));
        const whole = v.error === null && want !== undefined && v.sha256 === want.sha256 && v.recordSha256 === want.sha256 &&
          v.prediction !== null && Math.abs(v.prediction - want.prediction) <= 1e-4 * Math.max(1, Math.abs(want.prediction));
        if (!whole) {
          result.mustBeZero['halfVersions']!++;
          finding(`version ${v.version} (attempt ${v.attempt}) is not whole: ${JSON.stringify({ ...v, want })} after ${repeat}`);
        }
      }
      const mine = seen.versions.filter((v) => v.attempt === String(i));
      if (mine.length > 1) {
        result.mustBeZero['duplicateVersions']!++;
        finding(`attempt ${i} is registered ${mine.length} times after ${repeat}`);
      }
      if (mine.length > 0) {
        registered++;
        known.set(i, mine[0]!.version);
      } else {
        absent++;
        if (acked) {
          result.mustBeZero['lostCommits']!++;
          finding(`attempt ${i} was acknowledged but is not listed after ${repeat}`);
        }
      }
      for (const [attempt, version] of known) {
        if (!seen.versions.some((v) => v.version === version && v.attempt === String(attempt))) {
          result.mustBeZero['lostCommits']!++;
          finding(`version ${version} (attempt ${attempt}) is gone after ${repeat}`);
          known.delete(attempt);
        }
      }
      if (seen.champion !== championHistory.at(-1) || JSON.stringify(seen.history) !== JSON.stringify(championHistory)) {
        result.mustBeZero['aliasDamage']!++;
        finding(`champion is ${seen.champion} with history ${JSON.stringify(seen.history)}; expected ${championHistory.at(-1)} with ${JSON.stringify(championHistory)}, after ${repeat}`);
      }
      // Every third registered attempt becomes the champion (uninterrupted): aliases keep moving during the drill.
      if (mine.length > 0 && i % 3 === 0) {
        await callPage(drill.page, PAGE, 'setChampion', { version: mine[0]!.version });
        championHistory.push(mine[0]!.version);
      }
      return `${mode} kill at ${delay} ms: ${mine.length > 0 ? `registered as v${mine[0]!.version}` : 'absent'}${acked ? ' (acknowledged)' : ''}, ${seen.versions.length} versions listed, reopened in ${open.ms} ms`;
    });
    await drill.close();
    await drill.finish({ ...killFigures(drill.kills), registered, absent, versionsKept: known.size, slowestOpenMs: drill.slowestOpenMs });
  });
});
