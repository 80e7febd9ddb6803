/**
 * Shell commands shown in the docs: every logical line of the fenced ```sh blocks of README.md and
 * docs/*.md (continuations joined, comments dropped), inline code spans that start with a command
 * (`kubectl`, `helm`, `curl`, `make`) between `<!-- BEGIN COMMANDS -->` and `<!-- END COMMANDS -->`,
 * and the indented `kubectl`/`helm`/`curl` lines of the Helm chart's NOTES.txt. test/e2e/doc-commands.test.ts runs them or lists why not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One command and where it is documented. */
export interface DocCommand {
  file: string;
  command: string;
}

/** Drops a trailing `# comment` that is outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/u.test(line[i - 1] ?? ''))) return line.slice(0, i);
  }
  return line;
}

/** Commands of the ```sh / ```bash / ```shell blocks of a Markdown text. */
export function commandsInMarkdown(text: string): string[] {
  const out: string[] = [];
  for (const block of text.matchAll(/^[ \t]*```(?:sh|bash|shell)\n([\s\S]*?)^[ \t]*```/gmu)) {
    let pending = '';
    for (const raw of (block[1] ?? '').split('\n')) {
      const line = stripComment(raw).trim();
      if (line === '' && pending === '') continue;
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1).trim()} `;
        continue;
      }
      const full = (pending + line).trim();
      pending = '';
      if (full !== '') out.push(full);
    }
  }
  return out;
}

/** Inline code spans that are commands, inside `<!-- BEGIN COMMANDS -->` regions of a Markdown text. */
export function inlineCommandsInMarkdown(text: string): string[] {
  const out: string[] = [];
  for (const region of text.matchAll(/<!-- BEGIN COMMANDS -->([\s\S]*?)<!-- END COMMANDS -->/gu)) {
    for (const span of (region[1] ?? '').matchAll(/`([^`]+)`/gu)) {
      const command = (span[1] ?? '').replace(/\s+/gu, ' ').trim();
      if (/^(kubectl|helm|curl|make)\s/u.test(command)) out.push(command);
    }
  }
  return out;
}

/** Command lines of a NOTES.txt (indented lines starting with kubectl, helm or curl). */
export function commandsInNotes(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^\s+(kubectl|helm|curl)\s/u.test(l))
    .map((l) => l.trim());
}

/** Every documented command of the repository at `root`. */
export function documentedCommands(root: string): DocCommand[] {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const out: DocCommand[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const command of [...commandsInMarkdown(text), ...inlineCommandsInMarkdown(text)]) out.push({ file, command });
  }
  const notes = 'config/helm/aad-pod-identity-mic/templates/NOTES.txt';
  for (const command of commandsInNotes(readFileSync(join(root, notes), 'utf8'))) out.push({ file: notes, command });
  return out;
}
