/**
 * Errors of the configuration layer. Messages are one line naming the problem (flag, env var, file,
 * key) and never contain secret values.
 */

/** Invalid command line, environment or cloud configuration. The process should exit non-zero. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True when `e` is a {@link ConfigError}. */
export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}

/** `-h`/`--help` was given: print {@link HelpRequested.usage} and exit 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  /** Usage text listing every flag with its default and description. */
  readonly usage: string;

  constructor(usage: string) {
    super('help requested');
    this.usage = usage;
  }
}

/** True when `e` is a {@link HelpRequested}. */
export function isHelpRequested(e: unknown): e is HelpRequested {
  return e instanceof HelpRequested;
}

/** `--version` was given: print the version and exit 0. */
export class VersionRequested extends Error {
  override readonly name = 'VersionRequested';

  constructor() {
    super('version requested');
  }
}

/** True when `e` is a {@link VersionRequested}. */
export function isVersionRequested(e: unknown): e is VersionRequested {
  return e instanceof VersionRequested;
}
