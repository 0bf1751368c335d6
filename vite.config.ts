import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { pwa } from './demo/pwa/vite-plugin.ts';
import { BROWSER_DEPS } from './vite.shared.ts';

/**
 * The static site's Content-Security-Policy: no eval, no inline script or style; wasm may compile (DuckDB,
 * parquet-wasm, tfjs-wasm); scripts and workers come from this origin only. Requests may also go to an HTTPS origin
 * (or a local one) because the sync screen talks to the bucket or signer its user enters — the demo itself requests
 * nothing outside its origin (the e2e tests check it). Only in the build: Vite's dev server injects styles inline and
 * talks to its HMR socket.
 */
export const DEMO_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
  "connect-src 'self' https: http://localhost:* http://127.0.0.1:*; img-src 'self' data:; " +
  "style-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'";

const strictCsp: Plugin = {
  name: 'larder-demo-csp',
  apply: 'build',
  transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: DEMO_CSP }, injectTo: 'head-prepend' }],
};

/**
 * The demo app: `npm run demo` serves it, `npm run build` writes a static site to dist-demo/ — an installable PWA
 * whose service worker (demo/sw.ts → sw.js) precaches every file of the build (demo/pwa/vite-plugin.ts).
 */
export default defineConfig({
  plugins: [strictCsp, pwa({ serviceWorker: 'sw.ts' })],
  root: 'demo',
  base: './',
  publicDir: false,
  // vega-datasets exports only its JS entry; its data files are imported by path (`vega-datasets/data/x.csv?url`).
  resolve: {
    alias: [{ find: /^vega-datasets\/data\//, replacement: fileURLToPath(new URL('./node_modules/vega-datasets/data/', import.meta.url)) }],
  },
  optimizeDeps: { include: BROWSER_DEPS, exclude: ['@duckdb/duckdb-wasm', 'parquet-wasm'] },
  server: { host: '127.0.0.1', port: 5173, fs: { allow: ['..'] } },
  worker: { format: 'es' },
  build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022' },
});
