// Finding Chromium for the tests and the benchmark, in plain ESM so that Node 20 runs it without a TypeScript
// step (bench/*.mjs); the types are in chromium.d.mts.
import { existsSync } from 'node:fs';

/** Flags that keep headless Chromium quiet on a machine with no network but the package registries. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `CHROMIUM_PATH`, else `/usr/bin/chromium`; throws with both ways to get one when neither exists. */
export function findChromium() {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) {
      throw new Error(`CHROMIUM_PATH is set to '${fromEnv}', but no file is there. Point it at a Chromium binary.`);
    }
    return fromEnv;
  }
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  throw new Error(
    'No Chromium found for the browser tests. Install one with `sudo apt-get install -y chromium` ' +
      '(Debian/Ubuntu; it lands in /usr/bin/chromium), or set CHROMIUM_PATH to the path of a Chromium or Chrome binary.',
  );
}
