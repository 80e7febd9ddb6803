/**
 * `make migration`: runs the migration/rollback scenario (hack/migration/scenario.ts) and prints its
 * figures as Markdown. `--short` is the variant `make test` runs; `--stage-seconds`, `--seed` tune it.
 * Exits 1 when an invariant was violated.
 */
import { parseArgs } from 'node:util';
import { formatMigration, runMigration } from './scenario.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    'stage-seconds': { type: 'string' },
    seed: { type: 'string' },
  },
});
const stageSeconds = values['stage-seconds'] !== undefined ? Number(values['stage-seconds']) : values.short ? 3 : 20;
const result = await runMigration({ stageSeconds, seed: values.seed !== undefined ? Number(values.seed) : undefined, log: (l) => console.error(l) });
console.log(formatMigration(result).join('\n'));
process.exitCode = result.violations.length === 0 ? 0 : 1;
