import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { type ProgressCallback } from '@llm-ir/core';
import { writeSamplesJsonl } from '@llm-ir/core/challenge';
import { parseShard, writeJsonl } from '@llm-ir/core/io';
import { openArtifactCache } from '@llm-ir/core/run';
import { createOcrPool, ocrDataset, ocrImages, OCR_ENGINES, type OcrEngineName } from '@llm-ir/ocr';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
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
    .option('--json', 'one JSON object per image: {image, ok, engine, ms, stages (ms per pipeline stage), width, height, lines | error}', false)
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
    .option('--shard <i/n>', 'only rows i, i+n, i+2n, ... (0-based), for SLURM array jobs')
    .option('--errors <file>', 'where to record failed images (JSONL)', '')
    .action(async (flags: PoolFlags & { in: string; images: string; out: string; cache: string | false; shard?: string; errors: string }) => {
      const { samples, errors: bad } = await loadOrReport(flags.in, io);
      const shard = flags.shard ? parseShard(flags.shard) : undefined;
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
        }
        if (out.errors.length || bad.length) throw new CliExit(EXIT.partial);
      } finally {
        await pool.close();
      }
    });
  return ocr;
}
