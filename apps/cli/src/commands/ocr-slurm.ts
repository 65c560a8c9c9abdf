// `llm-ir ocr dataset --executor slurm --shards N`: one SLURM array job whose task i runs
// `llm-ir ocr dataset --shard i/N` (rows i, i+N, ...) on its node, then the shard files merged back into
// exactly the file a local run writes. The nodes must see this checkout, the input, the images and
// the artifact cache on a shared filesystem (the cache's cross-process lock makes one cache safe for
// every task).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from '@llm-ir/core';
import { writeSamplesJsonl } from '@llm-ir/core/challenge';
import { writeJsonl } from '@llm-ir/core/io';
import { runSlurmArray } from '@llm-ir/trainer-bridge';
import { CliExit, EXIT, type CliIo } from '../context.ts';

const LAUNCHER = fileURLToPath(new URL('../../bin/llm-ir.js', import.meta.url));

/** What the SLURM driver needs of `ocr dataset`'s flags. */
export interface OcrSlurmFlags {
  in: string;
  images: string;
  out: string;
  engine: string;
  workers?: string;
  upscale?: string;
  cache: string | false;
  errors: string;
  shards: number;
  retries: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
}

/** A shard's error record, as `ocr dataset` writes it. */
interface ErrorRecord {
  image: string;
  rows: string[];
  code: string;
  message: string;
}

const lines = async (path: string): Promise<string[]> =>
  (await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)))).split('\n').filter((l) => l !== '');

/**
 * Runs `ocr dataset` as an array of `flags.shards` tasks, resubmitting failed or preempted tasks alone,
 * then writes `flags.out` from the shard files: row k of the input is row floor(k / N) of shard k % N,
 * so the file is byte-identical to a local run's. Failed images of all shards are merged into one
 * errors file (by image name, rows in input order, as a local run lists them).
 */
export async function ocrDatasetOnSlurm(flags: OcrSlurmFlags, samples: readonly Sample[], io: CliIo): Promise<{ failedImages: number }> {
  const n = flags.shards;
  const runDir = resolve(`${flags.out}.slurm`);
  const task = (i: number | string) => ({ out: join(runDir, `shard-${i}.jsonl`), errors: join(runDir, `shard-${i}.errors.jsonl`) });
  const command = [
    process.execPath, LAUNCHER, 'ocr', 'dataset',
    '--in', resolve(flags.in), '--images', resolve(flags.images),
    // %a: the task's index (sbatch's own filename pattern letter), filled in by the task
    '--out', task('%a').out, '--errors', task('%a').errors,
    '--shard', `SLURM_ARRAY_TASK_ID/${n}`, '--allow-partial',
    '--engine', flags.engine,
    ...(flags.workers ? ['--workers', flags.workers] : []),
    ...(flags.upscale ? ['--upscale', flags.upscale] : []),
    ...(flags.cache === false ? ['--no-cache'] : ['--cache', resolve(flags.cache)]),
  ];
  const started = performance.now();
  const slurm = { ...(flags.partition ? { partition: flags.partition } : {}), ...(flags.time ? { time: flags.time } : {}), ...(flags.cpusPerTask ? { cpusPerTask: flags.cpusPerTask } : {}) };
  const run = await runSlurmArray(
    { runDir, name: 'llm-ir-ocr', command, env: { DOTENV_CONFIG_QUIET: 'true' }, slurm },
    {
      indexes: Array.from({ length: n }, (_, i) => i),
      retries: flags.retries,
      // the command holds every flag and N; the input's bytes are the rest of what a shard depends on
      fingerprint: createHash('sha256').update(await readFile(resolve(flags.in))).digest('hex'),
      onTask: (t) => {
        const again = t.jobs.length > 1 && t.status.state === 'pending' ? ` (resubmitted, attempt ${t.jobs.length})` : '';
        io.stderr(`shard ${t.index}/${n}: ${t.status.state}${t.status.reason ? ` (${t.status.reason})` : ''} [${t.jobs.at(-1)}]${again}\n`);
      },
    },
  );
  const failed = run.tasks.filter((t) => t.status.state !== 'succeeded');
  if (failed.length) {
    for (const t of failed) io.stderr(`shard ${t.index}/${n} did not succeed after ${t.jobs.length} attempt(s): ${t.status.state}${t.status.reason ? ` (${t.status.reason})` : ''}; log: ${join(runDir, `llm-ir-ocr-${t.jobs.at(-1)}.out`)}\n`);
    io.stderr(`nothing written to ${flags.out}; rerun the same command to submit the unfinished shards again (finished ones are kept)\n`);
    throw new CliExit(EXIT.failed);
  }
  // interleave: shard i holds input rows i, i+n, i+2n, ... in input order
  const merging = performance.now();
  const shards = await Promise.all(run.tasks.map((t) => lines(task(t.index).out)));
  const merged: Sample[] = [];
  for (let k = 0; k < samples.length; k++) {
    const line = shards[k % n]![Math.floor(k / n)];
    if (line === undefined) {
      io.stderr(`shard ${k % n} has fewer rows than its share of the ${samples.length} input rows (${task(k % n).out}); nothing written to ${flags.out}\n`);
      throw new CliExit(EXIT.failed);
    }
    const row = JSON.parse(line) as Sample;
    if (row.id !== samples[k]!.id) {
      io.stderr(`shard ${k % n} row ${Math.floor(k / n)} is ${JSON.stringify(row.id)}, not input row ${k} (${JSON.stringify(samples[k]!.id)}): the shard files are not of this input; nothing written to ${flags.out}\n`);
      throw new CliExit(EXIT.failed);
    }
    merged.push(row);
  }
  await writeSamplesJsonl(flags.out, merged);
  const position = new Map(samples.map((s, i) => [s.id, i]));
  const byImage = new Map<string, ErrorRecord>();
  for (const t of run.tasks) {
    for (const l of await lines(task(t.index).errors)) {
      const e = JSON.parse(l) as ErrorRecord;
      const seen = byImage.get(e.image);
      byImage.set(e.image, seen ? { ...seen, rows: [...seen.rows, ...e.rows] } : e);
    }
  }
  const errors = [...byImage.values()].sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0)).map((e) => ({ ...e, rows: [...e.rows].sort((a, b) => position.get(a)! - position.get(b)!) }));
  io.stderr(`${merged.length} rows written to ${flags.out} from ${n} SLURM array task(s) (${run.tasks.filter((t) => t.jobs.length > 1).length} resubmitted); ${errors.length} failed image(s); ${((performance.now() - started) / 1000).toFixed(1)} s (merge ${((performance.now() - merging) / 1000).toFixed(2)} s)\n`);
  if (errors.length) {
    const errorsFile = flags.errors || `${flags.out}.errors.jsonl`;
    await writeJsonl(errorsFile, errors);
    io.stderr(`errors recorded in ${errorsFile}\n`);
  }
  return { failedImages: errors.length };
}
