#!/usr/bin/env node
/** Entry point of the Managed Identity Controller: all wiring is in `app/run.ts`. */
import { runMic } from './app/run.js';

runMic({ argv: process.argv.slice(2), env: process.env }).catch((err: unknown) => {
  process.stderr.write(`mic: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
