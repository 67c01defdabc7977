/**
 * Reading values that come from outside (bodies, queries, path parameters, queue messages) without trusting their
 * kind: an object with no prototype, a `toString` that is not a function or a BigInt must end in BAD_INPUT, never
 * in a TypeError of `String()`, `Number()` or `JSON.stringify()`. Found by the fuzz specs (test/fuzz/).
 */

/** A number from a number or a numeric string; NaN for anything else (objects, arrays, booleans). */
export function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() === '' ? NaN : Number(value);
  return NaN;
}

/** Text from a string, number or boolean; '' for anything else. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/** A short JSON view of a value for an error message; never throws (BigInt, cycles, symbols). */
export function shown(value: unknown, max = 200): string {
  try {
    const json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return (json ?? typeof value).slice(0, max);
  } catch {
    return `a ${typeof value}`;
  }
}

/** The own property `key` of a table, never one inherited from Object.prototype (constructor, toString, __proto__). */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}
