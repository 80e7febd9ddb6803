/**
 * `make bench --smoke`: the benchmark harness runs every scenario in its tiny size against the
 * emulators with the built controller in a child process, exits 0, and writes both result files
 * with the expected keys (targets are goals, not asserted). Also the harness's own arithmetic:
 * the lower bound of ARM writes and the quantiles.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { desiredChangesFromPods, lowerBoundWrites, type DesiredChange } from '../../hack/bench/lower-bound.js';
import { distribution, quantile } from '../../hack/bench/stats.js';

const BENCH = path.resolve('dist/hack/bench/bench.js');
const SCENARIOS = ['burst', 'burst-warm', 'e2e-gate', 'churn', 'steady', 'scale', 'cronjob', 'cronjob-grace'];

describe('lower bound of ARM writes (ideal pipelined single-flight writer per target)', () => {
  const add = (at: number, identity: string, target = 'vmss-a'): DesiredChange => ({ at, target, identity, present: true });

  it('needs one write for the first change and one more for everything that arrived during it', () => {
    const changes = [add(0, 'i1'), add(1, 'i2'), add(5, 'i3'), add(39, 'i4')];
    expect(lowerBoundWrites(changes, 40)).toEqual({ writes: 2, waves: 2, byTarget: { 'vmss-a': 2 } });
  });

  it('starts a new wave when a change arrives after the writer went idle', () => {
    expect(lowerBoundWrites([add(0, 'i1'), add(100, 'i2')], 40).writes).toBe(2);
    expect(lowerBoundWrites([add(0, 'i1'), add(40, 'i2'), add(80, 'i3')], 40).writes).toBe(3);
  });

  it('splits a wave into ⌈n/150⌉ writes and counts targets separately', () => {
    const many = Array.from({ length: 301 }, (_, i) => add(1, `i${i}`));
    const r = lowerBoundWrites([add(0, 'first'), ...many, add(0, 'x', 'vmss-b')], 40);
    expect(r.byTarget).toEqual({ 'vmss-a': 1 + 3, 'vmss-b': 1 });
  });

  it('costs nothing for changes that cancel out or that the target already has', () => {
    const changes: DesiredChange[] = [add(0, 'i1'), add(10, 'i2'), { at: 20, target: 'vmss-a', identity: 'i2', present: false }];
    expect(lowerBoundWrites(changes, 40).writes).toBe(1);
    expect(lowerBoundWrites([add(0, 'kubelet')], 40, { 'vmss-a': ['kubelet'] }).writes).toBe(0);
  });

  it('derives desired changes from pod lifecycles with reference counting and a grace period', () => {
    const pods = [
      { target: 't', identity: 'i', createdAt: 0, deletedAt: 20 },
      { target: 't', identity: 'i', createdAt: 10, deletedAt: 30 },
      { target: 't', identity: 'i', createdAt: 60, deletedAt: 80 },
    ];
    expect(desiredChangesFromPods(pods).map((c) => [c.at, c.present])).toEqual([[0, true], [30, false], [60, true], [80, false]]);
    // A 40-unit grace period bridges the gap between 30 and 60: one add, one removal at 80 + 40.
    expect(desiredChangesFromPods(pods, 40).map((c) => [c.at, c.present])).toEqual([[0, true], [120, false]]);
    // CronJob without grace: add + remove per pod when pods are further apart than 2 L...
    const cronOf = (period: number) => Array.from({ length: 5 }, (_, k) => ({ target: 't', identity: 'i', createdAt: k * period, deletedAt: k * period + 20 }));
    expect(lowerBoundWrites(desiredChangesFromPods(cronOf(100)), 40).writes).toBe(10);
    // ...while every second pod's add and remove cancel inside one wave when they are 60 apart; with grace: one add.
    const cron = cronOf(60);
    expect(lowerBoundWrites(desiredChangesFromPods(cron), 40).writes).toBe(6);
    expect(lowerBoundWrites(desiredChangesFromPods(cron, 300).filter((c) => c.at <= 300), 40).writes).toBe(1);
  });
});

describe('quantiles', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(distribution(values)).toEqual({ p50: 50, p99: 99, max: 100, count: 100 });
    expect(distribution([])).toEqual({ p50: undefined, p99: undefined, max: undefined, count: 0 });
  });
});

describe('bench --smoke', () => {
  let out: string;
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), 'bench-smoke-'));
    if (!existsSync(BENCH)) throw new Error(`${BENCH} is missing: run \`make build\` first`);
    run = await new Promise((resolve) => {
      const child = spawn(process.execPath, [BENCH, '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }, 120_000);

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('exits 0 and prints the table', () => {
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/scenario\s+pods\s+p50\/p99\/max \(L\)/);
    for (const name of SCENARIOS) expect(run.stdout).toContain(name);
  });

  it('writes results.json with every scenario and the expected figures', async () => {
    const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')) as {
      mode: string;
      date: string;
      machine: { cpus: number };
      scenarios: Record<string, unknown>[];
    };
    expect(results.mode).toBe('smoke');
    expect(Number.isNaN(Date.parse(results.date))).toBe(false);
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.scenarios.map((s) => s.scenario)).toEqual(SCENARIOS);
    for (const s of results.scenarios) {
      expect(s).toEqual(
        expect.objectContaining({
          completed: expect.any(Boolean),
          params: expect.objectContaining({ lroLatencySeconds: 40, timeScale: expect.any(Number), pods: expect.any(Number) }),
          latencyL: expect.objectContaining({ count: expect.any(Number) }),
          arm: { writes: expect.any(Number), reads: expect.any(Number), polls: expect.any(Number), throttled: expect.any(Number), preconditionFailed: expect.any(Number), total: expect.any(Number) },
          lowerBoundWrites: expect.any(Number),
          kube: expect.objectContaining({ requests: expect.any(Number), byVerb: expect.any(Object) }),
          controller: expect.objectContaining({ cpuSeconds: expect.any(Number), peakRssMiB: expect.any(Number) }),
          targets: expect.arrayContaining([expect.objectContaining({ name: expect.any(String), pass: expect.any(Boolean) })]),
        }),
      );
    }
    const steady = results.scenarios.find((s) => s.scenario === 'steady')!;
    if (steady.completed) expect(steady.armCallsPerDay).toEqual(expect.any(Number));
    const burst = results.scenarios.find((s) => s.scenario === 'burst')!;
    expect(burst.lowerBoundWrites).toBeGreaterThan(0);
    const warm = results.scenarios.find((s) => s.scenario === 'burst-warm')! as { completed: boolean; kube: { aaiWritesPerAssignment?: number } };
    if (warm.completed) expect(warm.kube.aaiWritesPerAssignment).toEqual(expect.any(Number));
  });

  it('writes RESULTS.md with the table, the reading guide, date and machine', async () => {
    const md = await readFile(path.join(out, 'RESULTS.md'), 'utf8');
    expect(md).toContain('# MIC benchmark results');
    expect(md).toContain('## How to read the figures');
    expect(md).toMatch(/Machine: \d+ cores/);
    for (const name of SCENARIOS) expect(md).toContain(`### ${name}`);
  });
});
