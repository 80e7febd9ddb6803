/** Flag tables rendered from the flag registry (`controller/config/flags.ts`), the source of `--help` too. */
import { BUILTIN_FLAGS, ignoredKlogFlags, listedFlags, type FlagSpec } from '../../controller/config/flags.js';
import { defaultMicOptions } from '../../controller/config/options.js';
import { code, table } from './markdown.js';

const DEFAULTS = defaultMicOptions({ HOSTNAME: '<hostname>' });

function defaultCell(f: FlagSpec): string {
  return code(f.defaultText(DEFAULTS));
}

function originCell(f: FlagSpec): string {
  return f.origin === 'project' ? '**new**' : f.origin;
}

/** Description with a trailing period. */
function sentence(text: string): string {
  return /[.!?]$/u.test(text) ? text : `${text}.`;
}

/** docs/configuration.md: every flag MIC accepts except the ignored klog ones. */
export function renderFlagTable(): string {
  const rows = listedFlags()
    .filter((f) => f.name !== 'v')
    .map((f) => [code(`--${f.name}`), defaultCell(f), originCell(f), sentence(f.description)]);
  for (const b of BUILTIN_FLAGS) rows.push([code(`--${b.name}`), '—', 'upstream', sentence(b.description)]);
  return table(['Flag', 'Default', 'Origin', 'Meaning'], rows);
}

/** docs/configuration.md: klog flags. */
export function renderKlogTable(): string {
  const v = listedFlags().find((f) => f.name === 'v');
  const rows = v ? [[`${code('--v')} / ${code('-v')} (int)`, sentence(v.description)]] : [];
  const ignored = ignoredKlogFlags();
  const bools = ignored.filter((f) => f.kind === 'bool').map((f) => code(`--${f.name}`));
  const values = ignored.filter((f) => f.kind !== 'bool').map((f) => code(`--${f.name}`));
  if (bools.length) rows.push([`${bools.join(', ')} (bool)`, 'Ignored. MIC always logs to stderr.']);
  if (values.length) rows.push([`${values.join(', ')} (value)`, 'Ignored.']);
  return table(['Flag', 'Effect'], rows);
}

/** README.md: the flags this project adds. */
export function renderProjectFlagTable(): string {
  const rows = listedFlags()
    .filter((f) => f.origin === 'project')
    .map((f) => [code(`--${f.name}`), defaultCell(f), sentence(f.description)]);
  return table(['Flag', 'Default', 'Meaning'], rows);
}
