import { defineConfig } from 'vite';

// Only the dev server needs this; `vite build` needs no configuration at all.
// Larder's training and inference workers import TensorFlow.js. The dev server serves a dependency's worker modules
// as they are, and pre-bundles only what it is told about, so it must be told to pre-bundle tfjs (whose own
// dependencies are CommonJS) for them.
export default defineConfig({
  optimizeDeps: { include: ['larder > @tensorflow/tfjs', 'larder > @tensorflow/tfjs-backend-wasm'] },
});
