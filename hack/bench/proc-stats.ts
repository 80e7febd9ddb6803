/** CPU time and peak memory of a (child) process from Linux `/proc`. */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ; 100 on every Linux we run on). */
const USER_HZ = 100;

/** A snapshot of a process's resource use. */
export interface ProcSample {
  /** User + system CPU time in ms. */
  cpuMs: number;
  /** Peak resident set size (VmHWM) in bytes. */
  peakRssBytes: number;
  /** Current resident set size (VmRSS) in bytes. */
  rssBytes: number;
}

/** Reads `/proc/<pid>/stat` and `/proc/<pid>/status`; undefined when the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 overall.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    };
    return { cpuMs: ((utime + stime) * 1000) / USER_HZ, peakRssBytes: kib('VmHWM'), rssBytes: kib('VmRSS') };
  } catch {
    return undefined;
  }
}
