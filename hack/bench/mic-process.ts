#!/usr/bin/env node
/**
 * The controller as the benchmark runs it: exactly `controller/main.ts`'s wiring (`runMic`), with the
 * ARM client side (LRO poll interval, client-side Compute budgets) on the benchmark's time scale from
 * `MIC_BENCH_TIME_SCALE`, so the controller's own 4-writes-per-minute budget keeps pace with the
 * time-scaled Azure emulator. Run as a child process so its CPU/RSS are its own; over the harness's
 * IPC channel it reports `process.memoryUsage()` and writes heap snapshots on request.
 */
import { runMic } from '../../controller/app/run.js';
import { startMemoryProbe } from './memory-probe.js';

const timeScale = Number(process.env.MIC_BENCH_TIME_SCALE ?? '1');
if (!(timeScale > 0)) {
  process.stderr.write('mic-bench: MIC_BENCH_TIME_SCALE must be > 0\n');
  process.exit(2);
}
startMemoryProbe(Number(process.env.MIC_BENCH_MEMORY_INTERVAL_MS ?? '1000'));
runMic({ argv: process.argv.slice(2), env: process.env, armTimeScale: timeScale }).catch((err: unknown) => {
  process.stderr.write(`mic-bench: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
