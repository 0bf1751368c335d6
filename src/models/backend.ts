import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { InvalidArgumentError } from '../errors.ts';

/** The tfjs backends Larder trains and predicts on. */
export type BackendName = 'wasm' | 'cpu' | 'webgl';

/** Where the tfjs wasm binaries are served from; by default the copies bundled through Vite (`?url`). */
export interface TfjsWasmAssets {
  wasm: string;
  simd: string;
}

async function defaultWasmAssets(): Promise<TfjsWasmAssets> {
  const [wasm, simd] = await Promise.all([
    import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
    import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
  ]);
  return { wasm: wasm.default, simd: simd.default };
}

/**
 * Makes `preferred` the active tfjs backend of this thread and returns the one in use: wasm (single-threaded —
 * the threaded build hangs in bundled module workers), cpu, or webgl. A backend that cannot start falls back to
 * cpu, with the reason. Nothing is fetched from the network: the wasm binaries come from the app's own assets.
 *
 * @example
 * ```ts
 * const { backend, fellBack } = await useBackend('wasm');
 * ```
 */
export async function useBackend(preferred: BackendName = 'wasm', assets?: TfjsWasmAssets): Promise<{ backend: BackendName; fellBack: string | null }> {
  if (!['wasm', 'cpu', 'webgl'].includes(preferred)) throw new InvalidArgumentError("backend must be 'wasm', 'cpu' or 'webgl'.");
  if (tf.getBackend() === preferred) return { backend: preferred, fellBack: null };
  try {
    if (preferred === 'wasm') {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      const paths = assets ?? (await defaultWasmAssets());
      setWasmPaths({
        'tfjs-backend-wasm.wasm': paths.wasm,
        'tfjs-backend-wasm-simd.wasm': paths.simd,
        'tfjs-backend-wasm-threaded-simd.wasm': paths.simd,
      });
    }
    if (!(await tf.setBackend(preferred))) throw new Error(`tfjs could not start the ${preferred} backend`);
    await tf.ready();
    return { backend: preferred, fellBack: null };
  } catch (error) {
    if (preferred === 'cpu') throw error;
    await tf.setBackend('cpu');
    await tf.ready();
    return { backend: 'cpu', fellBack: `${preferred}: ${(error as Error).message}` };
  }
}

/**
 * Builds a throwaway model with `build` and runs one training step and one prediction on a single row of zeros,
 * to find out before the real work whether the active backend has every kernel the model needs. Everything it
 * creates (weights, optimizer state) is disposed again.
 */
export async function probeTrainingStep(build: () => tf.LayersModel, inputs: number, outputs: number): Promise<void> {
  const model = build();
  const x = tf.zeros([1, inputs]);
  const y = tf.zeros([1, outputs]);
  try {
    await model.trainOnBatch(x, y);
    tf.dispose(model.predict(x));
  } finally {
    tf.dispose([x, y]);
    model.optimizer.dispose();
    model.dispose();
  }
}
