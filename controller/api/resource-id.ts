/**
 * User-assigned managed identity resource IDs: strict parsing, canonical (lower-cased) form, and
 * extraction of the IDs quoted in ARM error messages.
 */
import { InvalidResourceIdError } from './errors.js';

/** A parsed user-assigned identity resource ID. */
export interface IdentityResourceId {
  /** Subscription segment, casing as given. */
  subscriptionId: string;
  /** Resource group segment, casing as given. */
  resourceGroup: string;
  /** Identity name, casing as given. */
  name: string;
  /**
   * Lower-cased `/subscriptions/<s>/resourcegroups/<rg>/providers/microsoft.managedidentity/userassignedidentities/<n>`:
   * the form used for every comparison and in ARM identity maps.
   */
  canonical: string;
}

/**
 * Characters Azure allows in subscription, resource-group and identity-name segments (letters,
 * digits, `_`, `.`, `(`, `)`, `-`). Anything else — whitespace, `?`, `#`, `%`, `/` — is rejected.
 */
const SEGMENT = String.raw`[\p{L}\p{N}_.()\-]+`;

const TYPE_PATH = String.raw`/providers/microsoft\.managedidentity/userassignedidentities/`;

const ANCHORED_ID = new RegExp(
  `^/subscriptions/(${SEGMENT})/resourcegroups/(${SEGMENT})${TYPE_PATH}(${SEGMENT})$`,
  'iu',
);

/** Unanchored form for finding IDs inside free text (ARM error messages). */
const ID_IN_TEXT = new RegExp(
  String.raw`/subscriptions/([^/\s'",;]+)/resourcegroups/([^/\s'",;]+)${TYPE_PATH}(${SEGMENT})`,
  'giu',
);

/** `.` and `..` are path-traversal segments, never names. */
function isTraversal(segment: string): boolean {
  return segment === '.' || segment === '..';
}

/** Builds the canonical lower-cased resource ID from its three variable segments. */
function canonicalOf(subscriptionId: string, resourceGroup: string, name: string): string {
  return (
    `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}` +
    `/providers/microsoft.managedidentity/userassignedidentities/${name}`
  ).toLowerCase();
}

/**
 * Parses a user-assigned identity resource ID. Segment names (`subscriptions`, `resourceGroups`,
 * `providers`, ...) are case-insensitive; surrounding whitespace is ignored; anything else that does
 * not match the shape exactly (extra or empty segments, traversal, query strings, inner whitespace)
 * throws {@link InvalidResourceIdError}.
 */
export function parseIdentityResourceId(value: string): IdentityResourceId {
  const match = ANCHORED_ID.exec(value.trim());
  const [, subscriptionId, resourceGroup, name] = match ?? [];
  if (subscriptionId === undefined || resourceGroup === undefined || name === undefined) {
    throw new InvalidResourceIdError(value);
  }
  if ([subscriptionId, resourceGroup, name].some(isTraversal)) throw new InvalidResourceIdError(value);
  return { subscriptionId, resourceGroup, name, canonical: canonicalOf(subscriptionId, resourceGroup, name) };
}

/** Like {@link parseIdentityResourceId} but returns `undefined` instead of throwing. */
export function tryParseIdentityResourceId(value: string): IdentityResourceId | undefined {
  try {
    return parseIdentityResourceId(value);
  } catch {
    return undefined;
  }
}

/** The canonical lower-cased form of a resource ID; throws {@link InvalidResourceIdError} if invalid. */
export function canonicalIdentityId(value: string): string {
  return parseIdentityResourceId(value).canonical;
}

/**
 * Trims characters that end a sentence or a parenthesised aside rather than the name: trailing dots
 * (Azure names never end in `.`) and a trailing `)` without a matching `(` in the name.
 */
function trimNameInText(name: string): string {
  let out = name.replace(/\.+$/u, '');
  while (out.endsWith(')') && (out.match(/\(/gu)?.length ?? 0) < (out.match(/\)/gu)?.length ?? 0)) {
    out = out.slice(0, -1).replace(/\.+$/u, '');
  }
  return out;
}

/**
 * Every user-assigned identity resource ID mentioned in `text` (e.g. an ARM error message quoting
 * `'id1,id2'`), as canonical lower-cased IDs, deduplicated, in order of first mention.
 */
export function extractIdentityIdsFromText(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(ID_IN_TEXT)) {
    const [, subscriptionId = '', resourceGroup = '', rawName = ''] = match;
    const name = trimNameInText(rawName);
    const parsed = tryParseIdentityResourceId(canonicalOf(subscriptionId, resourceGroup, name));
    if (parsed) found.add(parsed.canonical);
  }
  return [...found];
}
