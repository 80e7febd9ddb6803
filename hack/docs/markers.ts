/**
 * Generated sections of Markdown files: the text between `<!-- BEGIN GENERATED: <name> ... -->` and
 * `<!-- END GENERATED -->`. Everything outside the markers is hand-written and left alone.
 */

/** A section marker problem (unbalanced or unknown markers). */
export class MarkerError extends Error {
  override readonly name = 'MarkerError';
}

/** True for {@link MarkerError}. */
export function isMarkerError(e: unknown): e is MarkerError {
  return e instanceof MarkerError;
}

const BEGIN = /<!-- BEGIN GENERATED: ([a-z0-9-]+)\b[^>]*-->\n/gu;
const END = '<!-- END GENERATED -->';

/** One generated section found in a file. */
export interface Section {
  name: string;
  /** Offset of the first character after the BEGIN line. */
  start: number;
  /** Offset of the END marker. */
  end: number;
  body: string;
}

/** Every generated section of `text`, in order. */
export function findSections(text: string): Section[] {
  const out: Section[] = [];
  for (const m of text.matchAll(BEGIN)) {
    const start = (m.index ?? 0) + m[0].length;
    const end = text.indexOf(END, start);
    const nextBegin = text.indexOf('<!-- BEGIN GENERATED:', start);
    if (end < 0 || (nextBegin >= 0 && nextBegin < end)) throw new MarkerError(`section ${m[1]} has no ${END}`);
    out.push({ name: m[1] ?? '', start, end, body: text.slice(start, end) });
  }
  return out;
}

/** `text` with the body of every section named in `bodies` replaced (bodies end with a newline). */
export function replaceSections(text: string, bodies: ReadonlyMap<string, string>): string {
  let out = '';
  let at = 0;
  for (const s of findSections(text)) {
    const body = bodies.get(s.name);
    if (body === undefined) throw new MarkerError(`no generator for section ${s.name}`);
    out += text.slice(at, s.start) + (body.endsWith('\n') ? body : `${body}\n`);
    at = s.end;
  }
  return out + text.slice(at);
}
