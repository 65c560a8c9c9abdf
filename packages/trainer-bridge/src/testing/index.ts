import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder of the fake tools' scripts (shipped in `src/testing/bin`). */
export const FAKE_TOOLS_DIR = fileURLToPath(new URL('../../src/testing/bin/', import.meta.url));

/**
 * Makes a `bin` folder holding faithful fakes of the GPU-side tools, to put first on PATH in tests:
 * `llamafactory-cli` (validates keys and data, writes trainer_log.jsonl, checkpoints, results),
 * `swift sft` (ms-swift 4.x arguments, logging.jsonl, checkpoints, its end-of-training symlinks),
 * `vllm serve` (OpenAI routes, LoRA adapters checked at start, structured-output choices),
 * `sbatch` / `srun` / `squeue` / `sacct` / `scontrol` / `scancel` (real state sequences, job steps
 * that `scancel --signal` reaches, forced TIMEOUT / OUT_OF_MEMORY / PREEMPTED / NODE_FAIL, a cluster
 * without accounting), and `ssh` / `rsync` (the remote host is this machine). `FAKE_GPUS` sets how
 * many GPUs the fake machine has (default 1).
 */
export async function installFakeTools(dir: string): Promise<{ bin: string; env: Record<string, string> }> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const links: Array<[string, string]> = [
    ['llamafactory-cli', 'fake-llamafactory.mjs'],
    ['swift', 'fake-swift.mjs'],
    ['vllm', 'fake-vllm.mjs'],
    ['sbatch', 'fake-sbatch.mjs'],
    ['srun', 'fake-sbatch.mjs'],
    ['squeue', 'fake-sbatch.mjs'],
    ['scontrol', 'fake-sbatch.mjs'],
    ['sacct', 'fake-sbatch.mjs'],
    ['scancel', 'fake-sbatch.mjs'],
    ['ssh', 'fake-ssh.mjs'],
    ['rsync', 'fake-ssh.mjs'],
  ];
  for (const [name, script] of links) {
    // a tiny shim tells the script which tool it is (the slurm and ssh fakes dispatch on it) and which
    // signals it inherited ignored: Node resets them all at start-up (src/node.cc PlatformInit), the
    // Python tools it stands in for keep an inherited SIG_IGN
    const sigign = `$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status 2>/dev/null)`;
    await writeFile(join(bin, name), `#!/bin/sh\nFAKE_TOOL=${name} FAKE_SIGIGN=${sigign} exec "${process.execPath}" "${join(FAKE_TOOLS_DIR, script)}" "$@"\n`);
    await chmod(join(bin, name), 0o755);
  }
  return { bin, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, FAKE_SLURM_DIR: join(dir, 'slurm-state') } };
}
