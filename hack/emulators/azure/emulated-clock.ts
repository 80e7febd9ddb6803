/**
 * Emulated time for the Azure emulator. One real millisecond is `scale` emulated milliseconds, so
 * a high time scale makes LRO latencies short and token buckets refill fast. The scale can change
 * at run time; emulated time stays continuous across changes.
 */

/** Maps real time onto emulated time with an adjustable speed-up factor. */
export class EmulatedClock {
  #scale: number;
  #realAnchor: number;
  #emulatedAnchor: number;
  readonly #realNow: () => number;

  /** `scale` 1 is real time; 60 is one emulated minute per real second. */
  constructor(scale = 1, realNow: () => number = () => Date.now()) {
    if (!(scale > 0)) throw new RangeError('timeScale must be > 0');
    this.#realNow = realNow;
    this.#scale = scale;
    this.#realAnchor = realNow();
    this.#emulatedAnchor = this.#realAnchor;
  }

  /** Current speed-up factor. */
  get scale(): number {
    return this.#scale;
  }

  /** Emulated milliseconds since the epoch (starts equal to real time). */
  now(): number {
    return this.#emulatedAnchor + (this.#realNow() - this.#realAnchor) * this.#scale;
  }

  /** Real milliseconds since the epoch. */
  realNow(): number {
    return this.#realNow();
  }

  /** Changes the speed-up factor from now on. */
  setScale(scale: number): void {
    if (!(scale > 0)) throw new RangeError('timeScale must be > 0');
    this.#emulatedAnchor = this.now();
    this.#realAnchor = this.#realNow();
    this.#scale = scale;
  }

  /** Converts an emulated duration to real milliseconds at the current scale. */
  toRealMs(emulatedMs: number): number {
    return emulatedMs / this.#scale;
  }

  /** Real wall-clock time at which an emulated instant happens(ed), at the current scale. */
  realTimeOf(emulatedInstant: number): number {
    return this.#realAnchor + (emulatedInstant - this.#emulatedAnchor) / this.#scale;
  }
}
