/**
 * Kubernetes wire time formats. `MicroTime` fields (Lease `acquireTime`/`renewTime`, Event `eventTime`)
 * must carry exactly six fractional digits: a real API server rejects the three digits a plain `Date`
 * serialises to.
 */
import { V1MicroTime } from '@kubernetes/client-node';

/** Formats epoch milliseconds as a MicroTime string, e.g. `2026-11-23T11:34:05.123000Z`. */
export function formatMicroTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // always `YYYY-MM-DDTHH:MM:SS.mmmZ` for years 0..9999
  return `${iso.slice(0, -1)}000Z`;
}

/**
 * A `V1MicroTime` for epoch milliseconds. It is a `Date` whose JSON form has six fractional digits,
 * so client-node serialises it correctly inside request bodies.
 */
export function toMicroTime(epochMs: number): V1MicroTime {
  return new V1MicroTime(epochMs);
}

/** True when `value` is a MicroTime string with exactly six fractional digits. */
export function isMicroTimeString(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/.test(value);
}

/**
 * Reads a time field as epoch milliseconds. client-node leaves MicroTime values read back from the
 * server as strings, while `Time` fields become `Date`s; both are accepted. Returns `undefined` for
 * missing or unparseable values.
 */
export function parseKubeTime(value: unknown): number | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (typeof value === 'string' && value !== '') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
