/** Small Markdown helpers for generated tables. */

/** Escapes what would break a table cell (pipes, newlines). */
export function cell(text: string): string {
  return text.replace(/\|/gu, '\\|').replace(/\s*\n\s*/gu, ' ');
}

/** Inline code, safe for a table cell. */
export function code(text: string): string {
  return `\`${text}\``;
}

/** A Markdown table (header, separator, rows), ending with a newline. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n';
}
