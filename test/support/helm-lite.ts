/**
 * A test-only renderer for the subset of Go templates / Helm that the chart's simple templates use
 * (helm itself is not installable here): `define`, `include`, `if`/`else if`/`else`/`end`, comments,
 * whitespace trimming, `.Values`/`.Release`/`.Chart` paths, parentheses, pipelines and the functions
 * `default trunc trimSuffix printf quote nindent indent replace eq ne not and or`. Anything else
 * throws, so a template change it cannot follow fails loudly instead of rendering wrongly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

/** The `.` of a render. */
export interface HelmContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string; Service: string };
  Chart: Record<string, unknown>;
}

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; expr: string }
  | { t: 'if'; branches: { cond: string | undefined; body: Node[] }[] };

interface Token {
  kind: 'text' | 'action';
  text: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    if (open < 0) {
      out.push({ kind: 'text', text: src.slice(pos) });
      break;
    }
    let text = src.slice(pos, open);
    const close = src.indexOf('}}', open);
    if (close < 0) throw new Error('helm-lite: unclosed action');
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      while (next < src.length && /\s/.test(src[next] as string)) next++;
    }
    out.push({ kind: 'text', text });
    out.push({ kind: 'action', text: inner.trim() });
    pos = next;
  }
  return out;
}

function parse(tokens: Token[], defines: Map<string, Node[]>): Node[] {
  let i = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++] as Token;
      if (tok.kind === 'text') {
        if (tok.text) nodes.push({ t: 'text', text: tok.text });
        continue;
      }
      const a = tok.text;
      if (a.startsWith('/*')) continue;
      const word = a.split(/\s+/)[0] as string;
      if (stopAt.includes(word)) return { nodes, stop: a };
      if (word === 'define') {
        const name = JSON.parse(a.slice('define'.length).trim()) as string;
        defines.set(name, block(['end']).nodes);
      } else if (word === 'if') {
        const branches: { cond: string | undefined; body: Node[] }[] = [];
        let cond: string | undefined = a.slice(2).trim();
        for (;;) {
          const b = block(['else', 'end']);
          branches.push({ cond, body: b.nodes });
          if (b.stop.startsWith('end')) break;
          const rest = b.stop.slice(4).trim();
          cond = rest.startsWith('if ') ? rest.slice(3).trim() : undefined;
        }
        nodes.push({ t: 'if', branches });
      } else if (['range', 'with', 'template', 'block'].includes(word)) {
        throw new Error(`helm-lite: unsupported action {{ ${a} }}`);
      } else {
        nodes.push({ t: 'action', expr: a });
      }
    }
    if (stopAt.length > 0) throw new Error(`helm-lite: missing {{ end }}`);
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0));

/** Splits an expression into words, keeping string literals and parenthesised groups whole. */
function words(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== '"') j += expr[j] === '\\' ? 2 : 1;
      out.push(expr.slice(i, j + 1));
      i = j + 1;
    } else if (c === '(') {
      let depth = 0;
      let j = i;
      for (; j < expr.length; j++) {
        if (expr[j] === '(') depth++;
        if (expr[j] === ')' && --depth === 0) break;
      }
      out.push(expr.slice(i, j + 1));
      i = j + 1;
    } else if (c === '|') {
      out.push('|');
      i++;
    } else {
      let j = i;
      while (j < expr.length && !/[\s|()]/.test(expr[j] as string)) j++;
      out.push(expr.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** Renders chart templates. */
export class HelmLite {
  readonly #defines = new Map<string, Node[]>();
  readonly #ctx: HelmContext;

  constructor(ctx: HelmContext, helpers: string[] = []) {
    this.#ctx = ctx;
    for (const h of helpers) parse(tokenize(h), this.#defines);
  }

  /** Renders one template's text. */
  render(template: string): string {
    return this.#run(parse(tokenize(template), this.#defines));
  }

  #run(nodes: Node[]): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.text;
      else if (n.t === 'action') out += this.#str(this.#pipeline(n.expr));
      else {
        const hit = n.branches.find((b) => b.cond === undefined || truthy(this.#pipeline(b.cond)));
        if (hit) out += this.#run(hit.body);
      }
    }
    return out;
  }

  #str(v: unknown): string {
    return v === undefined || v === null ? '' : String(v);
  }

  #pipeline(expr: string): unknown {
    const ws = words(expr);
    let value: unknown;
    let first = true;
    let cmd: string[] = [];
    const flush = (): void => {
      value = this.#command(cmd, first ? undefined : { value });
      first = false;
      cmd = [];
    };
    for (const w of ws) {
      if (w === '|') flush();
      else cmd.push(w);
    }
    flush();
    return value;
  }

  #arg(w: string): unknown {
    if (w.startsWith('"')) return JSON.parse(w) as string;
    if (/^-?\d+$/.test(w)) return Number(w);
    if (w === 'true' || w === 'false') return w === 'true';
    if (w.startsWith('(')) return this.#pipeline(w.slice(1, -1));
    if (w === '.') return this.#ctx;
    if (w.startsWith('.')) {
      let cur: unknown = this.#ctx;
      for (const k of w.slice(1).split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
      return cur;
    }
    throw new Error(`helm-lite: unsupported argument ${w}`);
  }

  #command(cmd: string[], piped?: { value: unknown }): unknown {
    const [fn, ...rawArgs] = cmd as [string, ...string[]];
    const isFunction = /^[a-zA-Z]/.test(fn);
    if (!isFunction) {
      if (rawArgs.length > 0 || piped) throw new Error(`helm-lite: cannot call ${fn}`);
      return this.#arg(fn);
    }
    const args = rawArgs.map((a) => this.#arg(a));
    if (piped) args.push(piped.value);
    const s = (i: number): string => this.#str(args[i]);
    switch (fn) {
      case 'include': {
        const body = this.#defines.get(s(0));
        if (!body) throw new Error(`helm-lite: no template ${s(0)}`);
        return this.#run(body);
      }
      case 'default':
        return truthy(args[1]) ? args[1] : args[0];
      case 'trunc':
        return s(1).slice(0, Number(args[0]));
      case 'trimSuffix':
        return s(1).endsWith(s(0)) ? s(1).slice(0, -s(0).length) : s(1);
      case 'printf': {
        let i = 1;
        return s(0).replace(/%[sdv]/g, () => s(i++));
      }
      case 'quote':
        return JSON.stringify(s(args.length - 1));
      case 'replace':
        return s(2).split(s(0)).join(s(1));
      case 'nindent':
      case 'indent': {
        const pad = ' '.repeat(Number(args[0]));
        const text = s(1).split('\n').map((l) => pad + l).join('\n');
        return fn === 'nindent' ? `\n${text}` : text;
      }
      case 'eq':
        return args[0] === args[1];
      case 'ne':
        return args[0] !== args[1];
      case 'not':
        return !truthy(args[0]);
      case 'and':
        return args.every(truthy);
      case 'or':
        return args.some(truthy);
      default:
        throw new Error(`helm-lite: unsupported function ${fn}`);
    }
  }
}

/** Renders the named templates of a chart folder with its default values (plus overrides); returns the YAML documents. */
export function renderChart(chartDir: string, templates: string[], release: { name: string; namespace: string }, values: Record<string, unknown> = {}): Record<string, unknown>[] {
  const chart = YAML.parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const defaults = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) {
      out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
    }
    return out;
  };
  const ctx: HelmContext = {
    Values: merge(defaults, values),
    Release: { Name: release.name, Namespace: release.namespace, Service: 'Helm' },
    Chart: Object.fromEntries(Object.entries(chart).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), v])),
  };
  const helm = new HelmLite(ctx, [readFileSync(join(chartDir, 'templates/_helpers.tpl'), 'utf8')]);
  const docs: Record<string, unknown>[] = [];
  for (const t of templates) {
    const text = helm.render(readFileSync(join(chartDir, 'templates', t), 'utf8'));
    for (const d of YAML.parseAllDocuments(text)) {
      const obj = d.toJS() as Record<string, unknown> | null;
      if (obj) docs.push(obj);
    }
  }
  return docs;
}
