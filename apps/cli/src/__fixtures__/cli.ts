// Test helpers of the CLI: run a command in-process and capture what it prints.
import { fileURLToPath } from 'node:url';
import { runCli } from '../index.ts';

/** The shared official data beside the checkout. */
export const MIRE = fileURLToPath(new URL('../../../../../shared/datasets/www2025-mire/', import.meta.url));
/** All shared datasets. */
export const SHARED = fileURLToPath(new URL('../../../../../shared/datasets/', import.meta.url));

/** Runs `llm-ir <argv>` in this process; returns the exit code and what went to stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), progress: false });
  return { code, stdout, stderr };
}
