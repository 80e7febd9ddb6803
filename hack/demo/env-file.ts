/** Reads the `<stateDir>/env` file written by the emulator launcher (`export NAME='value'` lines). */

/** A line of the env file that is not `export NAME=value`. */
export class EnvFileError extends Error {
  override readonly name = 'EnvFileError';
  readonly line: number;

  constructor(line: number, text: string) {
    super(`env file line ${line} is not "export NAME=value": ${text}`);
    this.line = line;
  }
}

/** True for {@link EnvFileError}. */
export function isEnvFileError(e: unknown): e is EnvFileError {
  return e instanceof EnvFileError;
}

/** Undoes POSIX single quoting (`'it'\''s'` → `it's`); unquoted words are taken as they are. */
function unquote(word: string, lineNo: number, line: string): string {
  let out = '';
  let i = 0;
  while (i < word.length) {
    if (word[i] === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new EnvFileError(lineNo, line);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (word[i] === '\\' && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
    } else {
      out += word[i];
      i += 1;
    }
  }
  return out;
}

/** Parses `export NAME=value` lines (blank lines and `#` comments are skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new EnvFileError(index + 1, line);
    env[m[1]!] = unquote(m[2]!, index + 1, line);
  });
  return env;
}
