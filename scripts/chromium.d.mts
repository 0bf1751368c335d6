/** Flags that keep headless Chromium quiet on a machine with no network but the package registries. */
export declare const CHROMIUM_ARGS: string[];
/**
 * The Chromium binary the tests drive: `CHROMIUM_PATH`, else `/usr/bin/chromium`. Throws with instructions when
 * neither exists (Playwright's own browser download cannot work here).
 */
export declare function findChromium(): string;
