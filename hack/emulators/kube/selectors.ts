/** Label and field selectors with the real server's syntax and matching rules. */
import { badRequest } from './errors.js';

/** One parsed label requirement. */
export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';
  values: string[];
}

/** A parsed label selector: all requirements must hold. Empty selects everything. */
export type LabelSelector = LabelRequirement[];

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim());
}

function checkKey(key: string, raw: string): void {
  if (!KEY.test(key) || key.length > 317) throw badRequest(`unable to parse requirement: <nil>: Invalid value: "${key}": invalid label key in "${raw}"`);
}

function checkValue(value: string, raw: string): void {
  if (!VALUE.test(value) || value.length > 63) throw badRequest(`unable to parse requirement: values[0][${value}]: Invalid value: "${value}": invalid label value in "${raw}"`);
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3`; throws 400 BadRequest when malformed. */
export function parseLabelSelector(raw: string | null | undefined): LabelSelector {
  if (!raw || raw.trim() === '') return [];
  const reqs: LabelSelector = [];
  for (const part of splitTopLevel(raw)) {
    if (part === '') throw badRequest(`unable to parse requirement: found '', expected: identifier in "${raw}"`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const key = m[1] as string;
      checkKey(key, raw);
      const values = (m[3] as string).split(',').map((v) => v.trim()).filter((v) => v !== '');
      values.forEach((v) => checkValue(v, raw));
      reqs.push({ key, op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^([^!=<>\s]+)\s*(==|!=|=|>|<)\s*(\S*)$/))) {
      const key = m[1] as string;
      const value = m[3] as string;
      checkKey(key, raw);
      if (m[2] === '>' || m[2] === '<') {
        if (!/^-?\d+$/.test(value)) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in "${raw}"`);
        reqs.push({ key, op: m[2] === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        checkValue(value, raw);
        reqs.push({ key, op: m[2] === '!=' ? 'notin' : 'in', values: [value] });
      }
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      checkKey(m[1] as string, raw);
      reqs.push({ key: m[1] as string, op: '!', values: [] });
    } else if (/^\S+$/.test(part)) {
      checkKey(part, raw);
      reqs.push({ key: part, op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: found '${part}', expected: in, notin, =, ==, !=, gt, lt in "${raw}"`);
    }
  }
  return reqs;
}

/** True when `labels` satisfy every requirement. */
export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'in':
        return has && r.values.includes(v as string);
      case 'notin':
        return !has || !r.values.includes(v as string);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
        return has && /^-?\d+$/.test(v as string) && Number(v) > Number(r.values[0]);
      case 'lt':
        return has && /^-?\d+$/.test(v as string) && Number(v) < Number(r.values[0]);
    }
  });
}

/** One parsed field requirement. */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** A parsed field selector. */
export type FieldSelector = FieldRequirement[];

/** Parses `metadata.name=x,status.phase!=Running` (with `\,` `\=` escapes); 400 when malformed. */
export function parseFieldSelector(raw: string | null | undefined): FieldSelector {
  if (!raw || raw.trim() === '') return [];
  const reqs: FieldSelector = [];
  for (const part of raw.split(/(?<!\\),/)) {
    const m = part.match(/^\s*([^!=\s]+)\s*(==|!=|=)\s*(.*?)\s*$/);
    if (!m) throw badRequest(`invalid selector: '${raw}'; can't understand '${part}'`);
    const value = (m[3] as string).replace(/\\([,=\\])/g, '$1');
    reqs.push({ field: m[1] as string, op: m[2] === '!=' ? '!=' : '=', value });
  }
  return reqs;
}

/** True when every field requirement holds, reading values with `get`. */
export function matchesFields(sel: FieldSelector, get: (field: string) => string | undefined): boolean {
  return sel.every((r) => {
    const v = get(r.field) ?? '';
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
