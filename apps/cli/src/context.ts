import { LlmIrError, loadSamples, type Sample } from '@llm-ir/core';

/** Where a command writes and how it ends; tests pass their own to run commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when progress bars may be drawn. */
  progress: boolean;
}

/** Exit codes: 0 ok, 1 the command's check failed (validate found problems) or a fatal error, 2 completed with some bad rows or usage error. */
export const EXIT = { ok: 0, failed: 1, partial: 2 } as const;

/** Thrown by commands to end with an exit code after printing what they had to say. */
export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CliExit';
    this.exitCode = exitCode;
  }
}

/** A one-line message for an error: typed errors by their message, others with their name. */
export function describeError(error: unknown): string {
  if (LlmIrError.isInstance(error)) return `error [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

/** Loads rows or samples and prints each bad row's typed error (file, row, reason) to stderr; the command decides the exit code. */
export async function loadOrReport(file: string, io: CliIo): Promise<{ samples: Sample[]; errors: LlmIrError[] }> {
  const { samples, errors } = await loadSamples(file);
  for (const e of errors) io.stderr(`${e.message} [${e.code}]\n`);
  return { samples, errors };
}
