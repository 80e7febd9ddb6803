/** Renders benchmark figures: a console table, `results.json` and `RESULTS.md`. */
import os from 'node:os';
import { realLatencyMs, type ScenarioFigures } from './runner.js';

/** The whole results document written to `results.json`. */
export interface BenchResults {
  date: string;
  mode: 'full' | 'smoke';
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  notes: string[];
  scenarios: ScenarioFigures[];
}

/** Describes the machine the run happened on. */
export function machineInfo(): BenchResults['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const n = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const int = (v: number | undefined): string => (v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));

/** Rows of the summary table (one per scenario). */
function rows(results: BenchResults): string[][] {
  return results.scenarios.map((f) => [
    f.scenario,
    String(f.params.pods),
    `${n(f.latencyL.p50)}/${n(f.latencyL.p99)}/${n(f.latencyL.max)}`,
    n(f.allAssignedL),
    `${f.arm.writes}/${f.arm.reads}/${f.arm.polls}/${f.arm.throttled}/${f.arm.preconditionFailed ?? '-'}`,
    String(f.lowerBoundWrites),
    n(f.writesOverBound),
    n(f.kube.perAssignment, 1),
    n(f.kube.aaiWritesPerAssignment, 2),
    n(f.controller.cpuSeconds, 1),
    n(f.controller.peakRssMiB, 0),
    n(f.controller.idle?.rssMiB, 0),
    `${f.endState.missing}/${f.endState.extra}`,
    f.targets.length === 0 ? '-' : f.targets.every((t) => t.pass) ? 'PASS' : 'FAIL',
  ]);
}

const HEADER = ['scenario', 'pods', 'p50/p99/max (L)', 'all (L)', 'ARM w/r/p/429/412', 'bound', 'w/bound', 'kube/assign', 'kube writes/assign', 'CPU s', 'RSS MiB', 'idle RSS', 'end miss/extra', 'targets'];

/** The readable console table plus one line per target verdict. */
export function renderTable(results: BenchResults): string {
  const table = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  const out = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line), ''];
  for (const f of results.scenarios) {
    if (f.error) out.push(`${f.scenario}: INCOMPLETE — ${f.error}`);
    if (f.armCallsPerDay !== undefined) out.push(`${f.scenario}: ${int(f.armCallsPerDay)} ARM calls per emulated day`);
    if (f.controller.cpuMsPerPodChange !== undefined) out.push(`${f.scenario}: ${n(f.controller.cpuMsPerPodChange)} ms controller CPU per pod change`);
    for (const t of f.targets) out.push(`${f.scenario}: ${t.pass ? 'PASS' : 'FAIL'} ${t.name} — ${t.detail}`);
  }
  return out.join('\n');
}

/** The `process.memoryUsage()` series of one scenario as Markdown list items. */
function memoryLines(f: ScenarioFigures): string[] {
  const m = f.controller.memoryTimelineMiB;
  if (!m) return [];
  return [
    '- Controller `process.memoryUsage()` over time (MiB, ~1 s apart, downsampled; last point = maximum):',
    `  - rss: ${m.rss.join(' ')}`,
    `  - heapTotal: ${m.heapTotal.join(' ')}`,
    `  - heapUsed: ${m.heapUsed.join(' ')}`,
    `  - external: ${m.external.join(' ')}`,
  ];
}

/** Per scale set: identities its pods need and when its last pod was Assigned (burst-type scenarios). */
function scaleSetLines(f: ScenarioFigures): string[] {
  if (!f.scaleSets?.length) return [];
  const Lms = realLatencyMs(f);
  const sets = f.scaleSets.map((s) => `${s.name} ${s.identities} id/${n(s.allAssignedRealMs / Lms)} L`).join(', ');
  return [`- Per scale set (distinct identities its pods need / first pod created → its last pod Assigned): ${sets}.`];
}

/** The `--clientQps` flag the scenarios ran with (as recorded in the results). */
function clientQps(results: BenchResults): string {
  return results.scenarios.flatMap((f) => f.params.controllerFlags).find((x) => x.startsWith('--clientQps')) ?? '--clientQps (not recorded)';
}

/** `RESULTS.md`: figures, how to read them, date and machine. */
export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const table = [HEADER, HEADER.map(() => '---'), ...rows(results)].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const details = results.scenarios
    .map((f) => {
      const lines = [
        `### ${f.scenario}`,
        '',
        f.title + '.',
        '',
        `- Setup: ${f.params.vmss} VMSS, ${f.params.nodes} nodes, ${f.params.identities} identities, ${f.params.pods} pods, ${f.params.podChanges} pod changes; L = ${f.params.lroLatencySeconds} s emulated, time scale ${f.params.timeScale}.`,
        `- Controller flags: \`${f.params.controllerFlags.join(' ')}\``,
        `- pod → Assigned: p50 ${n(f.latencyL.p50)} L, p99 ${n(f.latencyL.p99)} L, max ${n(f.latencyL.max)} L (${f.assignedPods} assigned, ${f.neverAssignedPods} never assigned).`,
        `- All Assigned: ${f.allAssignedL === undefined ? 'n/a' : `${n(f.allAssignedL)} L = ${n(f.allAssignedSeconds, 1)} s emulated`}.`,
        ...scaleSetLines(f),
        `- ARM: ${f.arm.writes} writes, ${f.arm.reads} reads, ${f.arm.polls} LRO polls, ${f.arm.throttled} × 429, ${f.arm.preconditionFailed ?? '(not counted)'} × 412; lower bound ${f.lowerBoundWrites} writes${f.writesOverBound === undefined ? '' : ` (measured/bound ${n(f.writesOverBound)})`}.`,
        ...(f.armCallsPerDay !== undefined ? [`- ARM calls per emulated day: ${int(f.armCallsPerDay)} (upstream users measured 62,230 in this shape).`] : []),
        `- Kubernetes API requests by the controller: ${f.kube.requests}${f.kube.perAssignment === undefined ? '' : ` (${n(f.kube.perAssignment, 1)} per assignment)`}; by verb ${JSON.stringify(f.kube.byVerb)}.`,
        ...(f.kube.aaiWrites !== undefined ? [`- Kubernetes writes per assignment: ${f.kube.aaiWrites} AzureAssignedIdentity creates/updates/status patches for ${f.assignedPods} pods = ${n(f.kube.aaiWritesPerAssignment, 2)}.`] : []),
        `- Controller: ${n(f.controller.cpuSeconds, 2)} CPU s, peak RSS ${n(f.controller.peakRssMiB, 0)} MiB${f.controller.cpuMsPerPodChange === undefined ? '' : `, ${n(f.controller.cpuMsPerPodChange)} ms CPU per pod change`}.`,
        `- Controller RSS over time (MiB, ~1 s apart, downsampled): ${f.controller.rssTimelineMiB.join(' ')}.`,
        ...(f.controller.idle
          ? [
              `- Idle controller (active leader, caches synced, ${f.controller.idle.settleSeconds ?? 10} s after it became active, before the first pod): RSS ${f.controller.idle.rssMiB} MiB, V8 heap used ${f.controller.idle.heapUsedMiB} MiB` +
                (f.controller.idle.rssSeriesMiB?.length ? `; RSS over those seconds: ${f.controller.idle.rssSeriesMiB.join(' ')} MiB.` : '.'),
            ]
          : []),
        ...memoryLines(f),
        `- Harness (both emulators + AAI watch) CPU: ${n(f.harnessCpuSeconds, 1)} s over ${n(f.wallSeconds, 1)} s wall.`,
        `- End state: ${f.endState.missing} identities missing and ${f.endState.extra} extra on the scale sets compared with what live pods need.`,
        ...(f.error ? [`- **Incomplete**: ${f.error}`] : []),
        ...f.targets.map((t) => `- Target ${t.pass ? '**PASS**' : '**FAIL**'}: ${t.name} — ${t.detail}`),
        '',
      ];
      return lines.join('\n');
    })
    .join('\n');
  return `# MIC benchmark results

Produced by \`make bench\` (\`node dist/hack/bench/bench.js${results.mode === 'smoke' ? ' --smoke' : ''}\`) on ${results.date}.
Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}. The cores were
shared with other work, so CPU-bound figures (latency tails, kube-side throughput) are pessimistic.

${table}

## How to read the figures

- **L** is the emulated latency of one ARM identity PATCH on a VM scale set (40 s, in the range upstream users
  measured). The Azure emulator runs on a time scale (emulated seconds per real second, column "time scale"):
  LRO latency, Compute throttling buckets, and the controller's interval flags and client-side ARM budgets
  are all scaled by it, so ratios to L are what real Azure would show. The Kubernetes side is not scaled:
  at high time scales kube work looks relatively slower than it would be.
- **p50/p99/max (L)**: per pod, from the moment the harness created it to the moment the harness's AAI
  watch (what NMI sees) first saw one of its AzureAssignedIdentities \`Assigned\`, divided by L. 1.0 L is
  the best possible for a pod whose identity is not yet on its scale set.
- **all (L)**: first pod created → last pod \`Assigned\` (burst-type scenarios only).
- **ARM w/r/p/429/412**: writes (PATCH), reads (GET of a VM/VMSS or LIST of a resource group's, one each), LRO status polls, 429 answers and 412 answers (a write whose \`If-Match\` etag no longer matched; the controller re-reads, re-plans and retries — the re-read is in the reads) counted by the Azure emulator. The scenarios have no other writer, so 412 stays 0 unless the controller raced itself; \`make chaos\` (out-of-band actors) reports the 412s it provokes.
- **bound**: the lower bound of ARM writes for the same pod changes: per scale set, an ideal pipelined
  single-flight writer; the first wave starts at the first change, each later wave carries every change that
  arrived while the previous write (L) was in flight, a wave costs ⌈net identity delta / 150⌉ writes and a
  wave whose changes cancel costs nothing. With a grace period the bound delays removals by it too.
  **w/bound** is measured writes / bound (≤ 1.0 means no wasted writes). The bound assumes a writer that
  starts at once; a controller that holds changes back (debounce, deferred removals) can go below it, trading
  latency or leaving removals for later — read it together with **end miss/extra**.
- **end miss/extra**: at the end of the run, identities that live pods need but the scale set lacks
  (missing) and bench identities on a scale set that no live pod needs (extra: pending or leaked removals;
  expected with a grace period).
- **kube/assign**: Kubernetes API requests made by the controller (the harness's own watch excluded) per pod
  that got an identity. Includes informer list/watch, AAI create/status/delete, events, lease renewals.
- **kube writes/assign**: the controller's AzureAssignedIdentity creates, updates and status patches (from
  the kube emulator's request log; the removal patch that precedes each delete is not counted) until every pod
  was \`Assigned\` (churn/cronjob: over the whole run), per pod that got an identity. 1.0 = every AAI created
  \`Assigned\` in one write; 2.0 = created \`Created\` and updated once (issue #16 goals: ≤ 1.1 onto targets
  that already hold the identity — **burst-warm** — and ≤ 2.0 otherwise).
- **CPU s / RSS MiB**: the controller child process only (\`/proc/<pid>/stat\` utime+stime during the measured
  part, \`VmHWM\` peak resident set). **idle RSS**: \`VmRSS\` of the active leader 10 s (smoke: 1 s) after it became active,
  caches synced, before the first pod change. The child also reports \`process.memoryUsage()\` every second over
  an IPC channel (\`hack/bench/memory-probe.ts\`); \`MIC_BENCH_HEAP_SNAPSHOTS=dir\` makes it write V8 heap snapshots
  when idle and when every pod is Assigned (profiling only: a snapshot pauses the process and raises its peak RSS). The emulators run in the harness process and are not included; their
  CPU is reported per scenario ("Harness CPU") — when it approaches the wall time, the emulators, not the
  controller, limit kube-side throughput.
- **steady** runs at time scale 1440, so L is 28 ms real and its latencies in L only show unscaled kube work.
- **targets**: goals from issue #7 (not tests): burst writes ≤ 1.0 × bound, all Assigned within 2 L + 1 real
  second per scale set — plus one L for each further write ARM forces on a scale set whose pods need more than 150
  identities (at most 150 per PATCH, one operation at a time per scale set: ⌈n / 150⌉ sequential writes) — and p50 ≤ 1.2 L; churn without any 429; steady ≤ 1,000 ARM calls per emulated day; 10,000 pods with
  peak RSS < 256 MiB and < 2 ms CPU per pod change; idle RSS < 120 MiB (issue #16). e2e-gate is upstream's gate (40 pods Assigned within 150 s).
- **steady** measures an idle window after everything is Assigned and extrapolates to one emulated day.
- **cronjob** runs twice: without a grace period and with \`--unassign-grace-period=5m\` (scaled).
- The controller runs as \`dist/bundle/bench/mic-process.js\`, the esbuild bundle of \`hack/bench/mic-process.ts\`
  (made like the image's \`dist/bundle/controller\`, hack/build/bundle.ts): \`controller/main.ts\`'s wiring plus the time scale
  for its ARM client (poll interval, client-side token buckets), with the Deployment's \`NODE_OPTIONS\` and the image's
  glibc malloc variables (\`MIC_BENCH_UNBUNDLED=1\` runs tsc's output instead). \`${clientQps(results)}\` is passed (upstream's default 5
  would make 10,000 AAI writes take over half an hour).

${results.notes.length ? `## Notes\n\n${results.notes.map((x) => `- ${x}`).join('\n')}\n\n` : ''}## Scenarios

${details}`;
}
