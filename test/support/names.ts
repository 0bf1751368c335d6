/** A store name no other test in this run uses (all browser tests share one origin). */
export function uniqueStoreName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
