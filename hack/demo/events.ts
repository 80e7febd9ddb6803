/**
 * Events as `kubectl describe` prints them: the Events of one object, oldest first, rendered as the
 * `Events:` table (Type, Reason, Age, From, Message).
 */
import type { CoreV1Event } from '@kubernetes/client-node';

/** The object an Event is about, as `kind` and `name` (namespace is the caller's). */
export interface EventTarget {
  kind: string;
  name: string;
}

/** Time an Event last happened (ms), from the newest of its timestamps; 0 when it has none. */
export function eventTime(ev: CoreV1Event): number {
  const stamps = [ev.lastTimestamp, ev.eventTime, ev.firstTimestamp, ev.metadata.creationTimestamp];
  for (const s of stamps) {
    const t = s === undefined ? NaN : new Date(s as Date | string).getTime();
    if (!Number.isNaN(t)) return t;
  }
  return 0;
}

/** The Events about `target`, oldest first. */
export function eventsAbout(events: readonly CoreV1Event[], target: EventTarget): CoreV1Event[] {
  return events
    .filter((ev) => ev.involvedObject.kind === target.kind && ev.involvedObject.name === target.name)
    .sort((a, b) => eventTime(a) - eventTime(b));
}

/** Age as kubectl shows it: `5s`, `3m`, `2h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

/**
 * The `Events:` block of `kubectl describe` for these events at time `now` (ms); messages longer
 * than `maxMessage` characters are cut with `…`.
 */
export function describeEvents(events: readonly CoreV1Event[], now: number, maxMessage = 600): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  const rows = events.map((ev) => {
    const count = ev.count ?? 1;
    const age = formatAge(now - eventTime(ev));
    const message = (ev.message ?? '').replace(/\s+/g, ' ');
    return [
      ev.type ?? '',
      ev.reason ?? '',
      count > 1 ? `${age} (x${count})` : age,
      ev.source?.component ?? ev.reportingComponent ?? '',
      message.length > maxMessage ? `${message.slice(0, maxMessage)}…` : message,
    ];
  });
  const head = ['Type', 'Reason', 'Age', 'From', 'Message'];
  const widths = head.map((h, c) => Math.max(4, h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd();
  // kubectl underlines every heading with at least four dashes.
  return ['Events:', line(head), line(head.map((h) => '-'.repeat(Math.max(4, h.length)))), ...rows.map(line)];
}
