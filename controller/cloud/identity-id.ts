/**
 * User-assigned identity resource IDs: canonical form and extraction from ARM error text.
 */

/** Returns the canonical form of an identity resource ID: trimmed, lower-cased, no trailing slash. */
export function canonicalIdentityId(id: string): string {
  return id.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * Matches one user-assigned identity resource ID. Segments may hold any character that is not a
 * separator, quote, comma or whitespace, so names with dots or parentheses are recognised too
 * (upstream only accepted letters, digits, `-` and `_`).
 */
const IDENTITY_ID_PATTERN =
  /\/subscriptions\/[^/\s'",;]+\/resourcegroups\/[^/\s'",;]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/\s'",;]+/gi;

/**
 * Finds every user-assigned identity resource ID in a text (typically an ARM error message),
 * case-insensitively. Returns canonical (lower-cased) IDs, deduplicated, in order of appearance.
 * This is the one place where ARM error *messages* are parsed for data.
 */
export function extractIdentityIds(text: string | undefined | null): string[] {
  if (!text) return [];
  const seen = new Set<string>();
  for (const match of text.matchAll(IDENTITY_ID_PATTERN)) {
    // A sentence may end right after the ID: drop trailing punctuation that cannot end a name.
    seen.add(canonicalIdentityId(match[0].replace(/[.)\]]+$/, '')));
  }
  return [...seen];
}
