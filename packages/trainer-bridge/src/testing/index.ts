import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder of the fake tools' scripts (shipped in `src/testing/bin`). */
export const FAKE_TOOLS_DIR = fileURLToPath(new URL('../../src/testing/bin/', import.meta.url));

/**
 * Makes a `bin` folder holding faithful fakes of the GPU-side tools, to put first on PATH in tests:
 * `llamafactory-cli` (validates keys and data, writes trainer_log.jsonl, checkpoints, results),
 * `vllm serve` (OpenAI routes, LoRA adapters checked at start, structured-output choices),
 * `sbatch` / `squeue` / `sacct` / `scancel` (real state sequences, forced TIMEOUT / OUT_OF_MEMORY /
 * PREEMPTED / NODE_FAIL), and `ssh` / `rsync` (the remote host is this machine).
 */
export async function installFakeTools(dir: string): Promise<{ bin: string; env: Record<string, string> }> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const links: Array<[string, string]> = [
    ['llamafactory-cli', 'fake-llamafactory.mjs'],
    ['vllm', 'fake-vllm.mjs'],
    ['sbatch', 'fake-sbatch.mjs'],
    ['squeue', 'fake-sbatch.mjs'],
    ['sacct', 'fake-sbatch.mjs'],
    ['scancel', 'fake-sbatch.mjs'],
    ['ssh', 'fake-ssh.mjs'],
    ['rsync', 'fake-ssh.mjs'],
  ];
  for (const [name, script] of links) {
    // a tiny shim tells the script which tool it is (the slurm and ssh fakes dispatch on it)
    await writeFile(join(bin, name), `#!/bin/sh\nFAKE_TOOL=${name} exec "${process.execPath}" "${join(FAKE_TOOLS_DIR, script)}" "$@"\n`);
    await chmod(join(bin, name), 0o755);
  }
  return { bin, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, FAKE_SLURM_DIR: join(dir, 'slurm-state') } };
}
