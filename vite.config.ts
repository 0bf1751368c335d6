import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { BROWSER_DEPS } from './vite.shared.ts';

/** The demo app: `npm run demo` serves it, `npm run build` writes a static site to dist-demo/. */
export default defineConfig({
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
