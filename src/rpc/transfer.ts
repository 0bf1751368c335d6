import * as Comlink from 'comlink';
import { deserializeError, serializeError, type SerializedError } from '../errors.ts';

let installed = false;

/**
 * Makes errors keep their class, `code` and `details` across a comlink boundary. Comlink's own handler keeps only
 * name, message and stack; ours wraps it, reusing its `canHandle` (its marker symbol is private). Idempotent; called
 * on both sides of every worker.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  const original = Comlink.transferHandlers.get('throw');
  if (original === undefined) throw new Error('comlink has no throw transfer handler; check the comlink version.');
  Comlink.transferHandlers.set('throw', {
    canHandle: (value: unknown): value is unknown => original.canHandle(value),
    serialize(thrown: unknown): [SerializedError, Transferable[]] {
      return [serializeError((thrown as { value: unknown }).value), []];
    },
    deserialize(serialized: unknown): never {
      throw deserializeError(serialized as SerializedError);
    },
  });
  installed = true;
}
