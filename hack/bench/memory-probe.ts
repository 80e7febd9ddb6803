/**
 * The controller child's side of the benchmark's memory instrumentation: over the IPC channel the
 * harness opened, sends `process.memoryUsage()` every `MIC_BENCH_MEMORY_INTERVAL_MS` and writes a
 * V8 heap snapshot when asked. Inert when the process has no IPC channel (not run by the harness).
 */
import { writeHeapSnapshot } from 'node:v8';

/** A `process.memoryUsage()` sample as sent to the harness (bytes; `t` is epoch ms). */
export interface MemorySample {
  t: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Messages from the child to the harness. */
export type ProbeMessage = { type: 'memory'; sample: MemorySample } | { type: 'heap-snapshot'; id: number; file?: string; error?: string };

/** Messages from the harness to the child. */
export type ProbeRequest = { type: 'heap-snapshot'; id: number; file: string };

/** Takes one sample now. */
export function memorySample(): MemorySample {
  const m = process.memoryUsage();
  return { t: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Starts the probe when the process has an IPC channel; returns whether it did. */
export function startMemoryProbe(intervalMs: number): boolean {
  if (typeof process.send !== 'function') return false;
  const send = (msg: ProbeMessage): void => {
    if (process.connected) process.send?.(msg);
  };
  if (intervalMs > 0) {
    const timer = setInterval(() => send({ type: 'memory', sample: memorySample() }), intervalMs);
    timer.unref();
  }
  process.on('message', (raw: unknown) => {
    const req = raw as Partial<ProbeRequest>;
    if (req?.type !== 'heap-snapshot' || typeof req.file !== 'string' || typeof req.id !== 'number') return;
    try {
      send({ type: 'heap-snapshot', id: req.id, file: writeHeapSnapshot(req.file) });
    } catch (err) {
      send({ type: 'heap-snapshot', id: req.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  // The channel must not keep the controller alive on its own.
  process.channel?.unref();
  return true;
}
