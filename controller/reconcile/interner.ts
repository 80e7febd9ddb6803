/**
 * Shares equal values between cached objects. JSON parsing gives every object its own copy of each
 * string: at 10,000 assignments the same hundred identity resource IDs, node names, finalizer and
 * apiVersion exist tens of thousands of times, and every assignment carries its own copy of the
 * embedded identity and binding references. The interner hands out one shared instance instead.
 * Shared objects are frozen, so a reader that tried to modify a cached object would fail loudly.
 * The table is bounded: when it reaches `maxEntries` it starts over (sharing is an optimisation;
 * values handed out earlier stay valid).
 */
export class Interner {
  readonly #maxEntries: number;
  #strings = new Map<string, string>();
  #values = new Map<string, unknown>();

  constructor(maxEntries = 50_000) {
    this.#maxEntries = maxEntries;
  }

  /** The shared instance of `s` (`undefined` passes through). */
  string<S extends string | undefined>(s: S): S {
    if (s === undefined) return s;
    const hit = this.#strings.get(s);
    if (hit !== undefined) return hit as S;
    if (this.#strings.size >= this.#maxEntries) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  /** The shared, deep-frozen value for `key`, built by `make` the first time. */
  value<T extends object>(key: string, make: () => T): T {
    const hit = this.#values.get(key);
    if (hit !== undefined) return hit as T;
    if (this.#values.size >= this.#maxEntries) this.#values.clear();
    const made = deepFreeze(make());
    this.#values.set(key, made);
    return made;
  }

  /** A copy of a string map with shared keys and values. */
  stringMap(m: Record<string, string> | undefined): Record<string, string> | undefined {
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[this.string(k)] = this.string(v);
    return out;
  }

  /** Entries currently held (strings + values). */
  get size(): number {
    return this.#strings.size + this.#values.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
