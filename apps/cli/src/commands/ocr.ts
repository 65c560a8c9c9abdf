import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { LlmIrError, type ProgressCallback } from '@llm-ir/core';
import { writeSamplesJsonl } from '@llm-ir/core/challenge';
import { parseShard, writeJsonl } from '@llm-ir/core/io';
import { openArtifactCache } from '@llm-ir/core/run';
import { createOcrPool, ocrDataset, ocrImages, OCR_ENGINES, type OcrEngineName } from '@llm-ir/ocr';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { ocrDatasetOnSlurm } from './ocr-slurm.ts';
import { intFlag, numberFlag } from '../flags.ts';

interface PoolFlags {
  engine: OcrEngineName;
  workers?: string;
  upscale?: string;
}

function engineOption() {
  return new Option('--engine <name>', 'OCR engine').choices([...OCR_ENGINES]).default('paddle');
}

function poolOptions(flags: PoolFlags) {
  const engineOptions = flags.upscale === undefined ? {} : { upscale: Number(flags.upscale) };
  return { engine: flags.engine, ...(flags.workers ? { workers: Number(flags.workers) } : {}), ...engineOptions };
}

/** `SLURM_ARRAY_TASK_ID/n` -> `<the variable's value>/n` (an array task's own shard); any other i/n as given. */
function taskShard(text: string): string {
  if (!text.startsWith('SLURM_ARRAY_TASK_ID/')) return text;
  const id = process.env['SLURM_ARRAY_TASK_ID'];
  if (id === undefined) throw new LlmIrError({ code: 'config-invalid', message: '--shard SLURM_ARRAY_TASK_ID/n outside a SLURM array task (SLURM_ARRAY_TASK_ID is not set)' });
  return `${id}${text.slice('SLURM_ARRAY_TASK_ID'.length)}`;
}

/** `llm-ir ocr <image...>` and `llm-ir ocr dataset`. */
export function ocrCommand(io: CliIo): Command {
  const ocr = new Command('ocr').description('OCR of screenshots and photos (PaddleOCR PP-OCRv4 by default; tesseract.js; native tesseract)');

  ocr
    .command('images', { isDefault: true })
    .description('OCR image files: text, or one JSON object per image with --json (`llm-ir ocr a.jpg b.png`)')
    .argument('<image...>', 'image files')
    .addOption(engineOption())
    .option('--workers <n>', 'engines running at once (default: cores)', intFlag('--workers', { min: 1 }))
    .option('--upscale <f>', 'upscale factor for small images before OCR', numberFlag('--upscale', { above: 0 }))
    .option('--json', 'one JSON object per image: {image, ok, engine, ms, stages (ms per pipeline stage, each rounded), width, height, lines | error}', false)
    .action(async (images: string[], flags: PoolFlags & { json: boolean }) => {
      const pool = await createOcrPool(poolOptions(flags));
      let failed = 0;
      try {
        for await (const r of ocrImages(images, { pool, onProgress: terminalProgress({ enabled: io.progress && !flags.json && images.length > 1 }) })) {
          if (!r.ok) {
            failed++;
            if (flags.json) io.stdout(`${JSON.stringify({ image: r.image, ok: false, error: { code: r.error.code, message: r.error.reason } })}\n`);
            else io.stderr(`${r.image}: ${r.error.reason} [${r.error.code}]\n`);
            continue;
          }
          const { lines, engine, ms, stages, width, height } = r.result;
          const stageMs = stages && Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v)]));
          if (flags.json) io.stdout(`${JSON.stringify({ image: r.image, ok: true, engine, ms: Math.round(ms), stages: stageMs, width, height, lines })}\n`);
          else io.stdout(`== ${r.image} (${lines.length} lines, ${Math.round(ms)} ms)\n${r.result.text}\n`);
        }
      } finally {
        await pool.close();
      }
      if (failed) {
        io.stderr(`${failed} of ${images.length} image(s) failed\n`);
        throw new CliExit(EXIT.partial);
      }
    });

  ocr
    .command('dataset')
    .description('attach OCR to every image of every row; writes JSONL of samples with OCR lines (cached by image hash)')
    .requiredOption('--in <file>', 'challenge JSON (or JSONL of rows / samples)')
    .requiredOption('--images <dir>', 'folder of the images')
    .requiredOption('--out <file>', 'samples JSONL to write')
    .addOption(engineOption())
    .option('--workers <n>', 'engines running at once (default: cores)', intFlag('--workers', { min: 1 }))
    .option('--upscale <f>', 'upscale factor for small images before OCR', numberFlag('--upscale', { above: 0 }))
    .option('--cache <dir>', 'artifact cache folder', '.llm-ir-cache')
    .option('--no-cache', 'do not read or write the cache')
    .option('--shard <i/n>', 'only rows i, i+n, i+2n, ... (0-based); `SLURM_ARRAY_TASK_ID/n` takes i from that variable, and %a in --out / --errors becomes i')
    .option('--errors <file>', 'where to record failed images (JSONL)', '')
    .option('--allow-partial', 'exit 0 when some images failed (they are still recorded); what array tasks use', false)
    .addOption(new Option('--executor <kind>', 'local: OCR here; slurm: one SLURM array job of --shards tasks, merged into --out').choices(['local', 'slurm']).default('local'))
    .option('--shards <n>', 'array tasks (with --executor slurm)', intFlag('--shards', { min: 1 }), '4')
    .option('--retries <n>', 'resubmissions of a failed or preempted task (with --executor slurm)', intFlag('--retries', { min: 0 }), '2')
    .option('--partition <name>', 'SLURM partition')
    .option('--time <limit>', 'SLURM time limit per task, e.g. 01:00:00')
    .option('--cpus-per-task <n>', 'SLURM CPUs per task', intFlag('--cpus-per-task', { min: 1 }))
    .action(async (flags: PoolFlags & { in: string; images: string; out: string; cache: string | false; shard?: string; errors: string; allowPartial: boolean; executor: string; shards: string; retries: string; partition?: string; time?: string; cpusPerTask?: string }) => {
      const { samples, errors: bad } = await loadOrReport(flags.in, io);
      if (flags.executor === 'slurm') {
        const { cpusPerTask, ...rest } = flags;
        const { failedImages } = await ocrDatasetOnSlurm({ ...rest, shards: Number(flags.shards), retries: Number(flags.retries), ...(cpusPerTask ? { cpusPerTask: Number(cpusPerTask) } : {}) }, samples, io);
        if (failedImages || bad.length) throw new CliExit(EXIT.partial);
        return;
      }
      const shard = flags.shard ? parseShard(taskShard(flags.shard)) : undefined;
      if (shard) {
        flags.out = flags.out.replaceAll('%a', String(shard.index));
        flags.errors = flags.errors.replaceAll('%a', String(shard.index));
      }
      const cache = flags.cache === false ? undefined : openArtifactCache({ dir: resolve(flags.cache), onCorrupt: (e) => io.stderr(`warning: ${e.message}\n`) });
      const pool = await createOcrPool(poolOptions(flags));
      const onProgress: ProgressCallback = terminalProgress({ enabled: io.progress });
      try {
        const started = performance.now();
        const out = await ocrDataset(samples, {
          pool,
          imagesDir: flags.images,
          ...(cache ? { cache } : {}),
          ...(shard ? { shard } : {}),
          onProgress,
        });
        await writeSamplesJsonl(flags.out, out.samples);
        const seconds = (performance.now() - started) / 1000;
        io.stderr(`${out.samples.length} rows written to ${flags.out}; ${out.cached} image(s) from the cache; ${out.errors.length} failed; ${seconds.toFixed(1)} s (${pool.engineId})\n`);
        if (out.errors.length) {
          io.stderr('failed images:\n');
          for (const e of out.errors) io.stderr(`  ${e.error.message} [${e.error.code}] (rows: ${e.rows.join(', ')})\n`);
          const errorsFile = flags.errors || `${flags.out}.errors.jsonl`;
          await writeJsonl(errorsFile, out.errors.map((e) => ({ image: e.image, rows: e.rows, code: e.error.code, message: e.error.reason })));
          io.stderr(`errors recorded in ${errorsFile}\n`);
        } else if (shard) {
          // an earlier attempt of this shard may have left an errors file: this run's word replaces it
          await rm(flags.errors || `${flags.out}.errors.jsonl`, { force: true });
        }
        if ((out.errors.length || bad.length) && !flags.allowPartial) throw new CliExit(EXIT.partial);
      } finally {
        await pool.close();
      }
    });
  return ocr;
}
