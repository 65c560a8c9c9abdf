// Shared helpers of the benches: machine facts and the result file every bench writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../benchmarks/results/', import.meta.url));

export function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * Writes one bench result: `{bench, package, date, machine, rows: [{name, value, unit, reference, referenceValue, ratio, note}]}`.
 * `ratio` is ours / reference for throughputs (higher is better) as each row states in `better`.
 */
export function writeResult(name, pkg, rows, extra = {}) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const result = { bench: name, package: pkg, date: new Date().toISOString(), machine: machine(), rows, ...extra };
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
