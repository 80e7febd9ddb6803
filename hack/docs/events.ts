/** Event and condition reason tables rendered from `controller/observability/event-reasons.ts`. */
import { ALL_REASONS } from '../../controller/observability/event-reasons.js';
import { code, table } from './markdown.js';

/** docs/troubleshooting.md: every Event reason. */
export function renderEventTable(): string {
  const rows = ALL_REASONS.filter((r) => r.surfaces.includes('event')).map((r) => [
    code(r.reason),
    r.type,
    r.on,
    r.origin === 'project' ? '**new**' : 'upstream',
    r.meaning,
    r.fix,
  ]);
  return table(['Reason', 'Type', 'On', 'Origin', 'Meaning', 'What to do'], rows);
}

/** docs/troubleshooting.md: reasons of the identity-ready pod condition. */
export function renderConditionTable(): string {
  const rows = ALL_REASONS.filter((r) => r.surfaces.includes('condition')).map((r) => [
    code(r.reason),
    r.reason === 'IdentityAssigned' ? '`True`' : '`False`',
    r.surfaces.includes('event') ? 'also an Event on the pod (see above)' : r.meaning,
  ]);
  return table(['Reason', 'Status', 'Meaning'], rows);
}
