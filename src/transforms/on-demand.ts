import { InvalidArgumentError, TransformationMismatchError } from '../errors.ts';
import { validateName } from '../definitions/names.ts';
import { isFeatureType, type FeatureType } from '../definitions/types.ts';

/** The values an on-demand function receives: the named view columns and request fields of one row. */
export type OnDemandInputs = Record<string, unknown>;

/**
 * An on-demand feature: a pure function of other columns of the same row, registered by name in the store worker
 * (see `serveStore`). The same module can be imported wherever the feature is needed, so training rows and online
 * vectors are computed by the same code.
 */
export interface OnDemandFeature {
  name: string;
  /** View columns (features, labels, spine keys or event time) the function reads. */
  inputs: string[];
  /**
   * Request fields the function reads, with their types: values that are not stored features but come with each
   * request — in training data from the spine (an explicit spine's columns, or the left group's columns of those
   * names), in batch data from the left group's latest row, online from the request.
   */
  request?: Record<string, FeatureType>;
  type: FeatureType;
  fn: (inputs: OnDemandInputs) => unknown;
}

/**
 * Declares an on-demand feature.
 *
 * @example
 * ```ts
 * export const tempRange = defineOnDemand({
 *   name: 'temp_range', inputs: ['temp_max', 'temp_min'], type: 'float64',
 *   fn: ({ temp_max, temp_min }) => (temp_max as number) - (temp_min as number),
 * });
 * ```
 */
export function defineOnDemand(feature: OnDemandFeature): OnDemandFeature {
  validateName(feature.name, 'on-demand feature');
  if (!Array.isArray(feature.inputs)) throw new InvalidArgumentError(`On-demand feature '${feature.name}' needs inputs (an array of view columns).`);
  for (const input of feature.inputs) validateName(input, 'on-demand input');
  const request = feature.request ?? {};
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new InvalidArgumentError(`On-demand feature '${feature.name}': request must map field names to types.`);
  }
  for (const [field, type] of Object.entries(request)) {
    validateName(field, 'on-demand request field');
    if (!isFeatureType(type)) throw new InvalidArgumentError(`On-demand feature '${feature.name}': request field '${field}' has no valid type.`);
    if (feature.inputs.some((i) => i.toLowerCase() === field.toLowerCase())) {
      throw new InvalidArgumentError(`On-demand feature '${feature.name}' names '${field}' both as input and as request field.`);
    }
  }
  if (feature.inputs.length + Object.keys(request).length === 0) throw new InvalidArgumentError(`On-demand feature '${feature.name}' reads nothing.`);
  if (!isFeatureType(feature.type)) throw new InvalidArgumentError(`On-demand feature '${feature.name}' has no valid type.`);
  if (typeof feature.fn !== 'function') throw new InvalidArgumentError(`On-demand feature '${feature.name}' needs fn.`);
  return Object.freeze({ ...feature, inputs: [...feature.inputs], request: { ...request } });
}

/** What a view stores of an on-demand feature: enough to detect a different function later. */
export interface OnDemandReference {
  name: string;
  inputs: string[];
  /** Request fields and their types (see {@link OnDemandFeature.request}). */
  request: Record<string, FeatureType>;
  type: FeatureType;
  /** SHA-256 (hex) of the function's source text. */
  sourceHash: string;
}

/** SHA-256 of the function's source: changing the code changes the hash. */
export async function sourceHash(fn: (inputs: OnDemandInputs) => unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(fn.toString()));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The on-demand features a store worker knows, by case-insensitive name. */
export class OnDemandRegistry {
  private readonly features = new Map<string, OnDemandFeature>();

  constructor(features: Iterable<OnDemandFeature> = []) {
    for (const f of features) {
      const key = f.name.toLowerCase();
      if (this.features.has(key)) throw new InvalidArgumentError(`On-demand feature '${f.name}' is registered twice.`);
      this.features.set(key, defineOnDemand(f));
    }
  }

  /** The registered function, or an error naming what is registered. */
  get(name: string): OnDemandFeature {
    const found = this.features.get(name.toLowerCase());
    if (found === undefined) {
      const known = [...this.features.values()].map((f) => f.name);
      throw new TransformationMismatchError(
        `On-demand feature '${name}' is not registered in this store worker (registered: ${known.length === 0 ? 'none' : known.join(', ')}). ` +
          'Open the store with a worker that registers it (serveStore({ onDemand: [...] })).',
        { details: { name, registered: known } },
      );
    }
    return found;
  }

  /** The reference to store in a view for each name. */
  async references(names: readonly string[]): Promise<OnDemandReference[]> {
    return Promise.all(
      names.map(async (name) => {
        const f = this.get(name);
        return { name: f.name, inputs: [...f.inputs], request: { ...f.request }, type: f.type, sourceHash: await sourceHash(f.fn) };
      }),
    );
  }

  /** Throws TransformationMismatchError unless each function registered now is the one the references were made with. */
  async verify(references: readonly OnDemandReference[], what: string): Promise<void> {
    for (const reference of references) {
      const current = this.get(reference.name);
      const hash = await sourceHash(current.fn);
      if (hash !== reference.sourceHash) {
        throw new TransformationMismatchError(
          `On-demand feature '${reference.name}' is not the function ${what} was built with (its source changed). ` +
            'Register the original function, or create a new feature view version for the new one.',
          { details: { name: reference.name, expected: reference.sourceHash, actual: hash } },
        );
      }
    }
  }
}
