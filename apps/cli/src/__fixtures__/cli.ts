// Test helpers of the CLI: run a command in-process and capture what it prints.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** An official row as the challenge file holds it (the fields these tests read). */
export interface OfficialRow {
  id: string;
  instruction: string;
  image: string[];
}

/**
 * The official rows `pick` keeps, written as a challenge file `<dir>/<file>`, with their images copied
 * to `<dir>/images/` (so a test may break one without touching the shared data).
 */
export async function officialSubset(dir: string, pick: (row: OfficialRow, index: number) => boolean, file = 'rows.json'): Promise<OfficialRow[]> {
  const rows = (JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')) as OfficialRow[]).filter(pick);
  await mkdir(join(dir, 'images'), { recursive: true });
  for (const r of rows) for (const img of r.image) await copyFile(join(MIRE, 'images', img), join(dir, 'images', img));
  await writeFile(join(dir, file), JSON.stringify(rows));
  return rows;
}
