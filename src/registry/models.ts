import { validateName } from '../definitions/names.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { AliasRecord, ModelVersionRecord } from './types.ts';

/** Weight bytes are stored in chunks of this size (one IndexedDB record each). */
export const WEIGHT_CHUNK_BYTES = 4 * 1024 * 1024;

/** A weight buffer cut into chunks of WEIGHT_CHUNK_BYTES (copies, so the caller's buffer stays usable). */
export function weightChunks(weightData: ArrayBuffer): ArrayBuffer[] {
  const chunks: ArrayBuffer[] = [];
  for (let start = 0; start < weightData.byteLength; start += WEIGHT_CHUNK_BYTES) {
    chunks.push(weightData.slice(start, Math.min(weightData.byteLength, start + WEIGHT_CHUNK_BYTES)));
  }
  return chunks;
}

/** Chunks joined back into one buffer, checked against the recorded size. */
export function joinChunks(chunks: readonly ArrayBuffer[], record: ModelVersionRecord): ArrayBuffer {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  if (chunks.length !== record.artifact.chunks || total !== record.artifact.bytes) {
    throw new InvalidArgumentError(
      `The stored weights of model ${record.name} v${record.version} are incomplete (${chunks.length} of ${record.artifact.chunks} chunks, ${total} of ${record.artifact.bytes} bytes).`,
    );
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(new Uint8Array(c), offset);
    offset += c.byteLength;
  }
  return out.buffer;
}

/** Validates an alias name (same rules as other names: letters, digits, underscore). */
export function validateAlias(alias: string): string {
  return validateName(alias, 'alias');
}

/** Throws unless no alias points at the version. */
export function assertUnaliased(name: string, version: number, aliases: readonly AliasRecord[]): void {
  const pointing = aliases.filter((a) => a.version === version).map((a) => a.alias);
  if (pointing.length > 0) {
    throw new InvalidArgumentError(`Model ${name} v${version} cannot be deleted: alias ${pointing.join(', ')} points at it. Move the alias first.`, {
      details: { name, version, aliases: pointing },
    });
  }
}

/** Orders run records (training or pipeline runs) oldest first, by start time then id. */
export function byStart(a: { startedAt: number; id: string }, b: { startedAt: number; id: string }): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The feature view version a model version reads, from its lineage (null for none, or no version). */
export function lineageView(record: ModelVersionRecord | undefined): { name: string; version: number } | null {
  const lineage = record?.lineage;
  return lineage === null || lineage === undefined ? null : { name: lineage.featureView, version: lineage.featureViewVersion };
}
