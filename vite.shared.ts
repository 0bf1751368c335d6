/** Browser dependencies Vite must pre-bundle up front, or it discovers them mid-run and reloads the page. */
export const BROWSER_DEPS = ['apache-arrow', 'comlink', 'idb', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'aws4fetch', '@observablehq/plot'];
