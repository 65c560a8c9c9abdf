import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseShard, writeJsonl } from '@llm-ir/core/io';
import { openArtifactCache } from '@llm-ir/core/run';
import { augmentDataset, contactSheet, lineageFile, type ImagePolicy, type LabelTargets, type TextOp } from '@llm-ir/augmentation';
import { DEFAULT_IMAGE_OPS, IMAGE_OPS, TEXT_OPS, type ImageOpName } from '@llm-ir/augmentation/ops';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { intFlag, numberFlag } from '../flags.ts';

function list<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    if (value === 'none') return [];
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!allowed.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} "${i}" (${allowed.join(', ')}, or none)`);
    return items as T[];
  };
}

function imagePolicy(ops: ImageOpName[] | undefined, n: string, m: string): ImagePolicy | false {
  if (ops && ops.length === 0) return false;
  return { kind: 'randaugment', n: Number(n), m: Number(m), ops: ops ?? DEFAULT_IMAGE_OPS };
}

/** `llm-ir augment` and `llm-ir augment preview`. */
export function augmentCommand(io: CliIo): Command {
  const augment = new Command('augment').description('image and text augmentation (Chinese and English) with label balancing and lineage');

  augment
    .command('run', { isDefault: true })
    .description('expand a challenge file: writes <out>/train.json (originals + variants with parentId) and <out>/images/')
    .requiredOption('--in <file>', 'challenge JSON (or JSONL of rows / samples)')
    .requiredOption('--images <dir>', 'folder of the images')
    .requiredOption('--out <dir>', 'output folder')
    .option('--factor <n>', 'every row gets n - 1 variants (default 2)', intFlag('--factor', { min: 1 }))
    .option('--balance <to>', 'raise every label to the median or max count of its task, or to a number')
    .option('--scores <file>', 'JSON {label: score in [0,1]} from a previous eval: low scores get more rows')
    .option('--max-factor <n>', 'with --scores: rows for a label scoring 0 (default 3)', intFlag('--max-factor', { min: 1 }), '3')
    .option('--ops <list>', `image ops drawn by RandAugment (${IMAGE_OPS.join(', ')}; none)`, list(IMAGE_OPS, 'image op'))
    .option('--n <n>', 'image ops per variant', intFlag('--n', { min: 0 }), '2')
    .option('--m <m>', 'magnitude 0-10', numberFlag('--m', { min: 0, max: 10 }), '5')
    .option('--text-ops <list>', `text ops (${TEXT_OPS.join(', ')}; none)`, list(TEXT_OPS, 'text op'))
    .option('--text-rate <r>', 'rate of the text ops', numberFlag('--text-rate', { min: 0, max: 1 }), '0.15')
    .option('--reorder-turns <p>', 'probability of reordering earlier exchanges', numberFlag('--reorder-turns', { min: 0, max: 1 }), '0.3')
    .option('--seed <seed>', 'seed (same seed: byte-identical output)', '0')
    .option('--cache <dir>', 'artifact cache folder', '.llm-ir-cache')
    .option('--no-cache', 'do not use the cache')
    .option('--shard <i/n>', 'only shard i of n of the new rows (writes train.shard-i-of-n.json)')
    .option('--concurrency <n>', 'variants made at once', intFlag('--concurrency', { min: 1 }), '4')
    .action(async (flags: {
      in: string; images: string; out: string; factor?: string; balance?: string; scores?: string; maxFactor: string;
      ops?: ImageOpName[]; n: string; m: string; textOps?: Array<TextOp['op']>; textRate: string; reorderTurns: string;
      seed: string; cache: string | false; shard?: string; concurrency: string;
    }) => {
      const { samples, errors } = await loadOrReport(flags.in, io);
      let targets: LabelTargets = { kind: 'factor', factor: 2 };
      if (flags.factor) targets = { kind: 'factor', factor: Number(flags.factor) };
      if (flags.balance) targets = { kind: 'balance', to: flags.balance === 'median' || flags.balance === 'max' ? flags.balance : Number(flags.balance) };
      if (flags.scores) targets = { kind: 'scores', scores: JSON.parse(await readFile(flags.scores, 'utf8')) as Record<string, number>, maxFactor: Number(flags.maxFactor) };
      const rate = Number(flags.textRate);
      const text: TextOp[] | undefined = flags.textOps?.map((op) => (op === 'reorder' ? { op, p: 0.5 } : { op, rate }));
      const result = await augmentDataset(samples, {
        imagesDir: flags.images,
        outDir: flags.out,
        targets,
        image: imagePolicy(flags.ops, flags.n, flags.m),
        ...(text ? { text: text.length ? text : false } : {}),
        reorderTurns: Number(flags.reorderTurns),
        seed: /^\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed,
        ...(flags.cache === false ? {} : { cache: openArtifactCache({ dir: resolve(flags.cache), onCorrupt: (e) => io.stderr(`warning: ${e.message}\n`) }) }),
        ...(flags.shard ? { shard: parseShard(flags.shard) } : {}),
        concurrency: Number(flags.concurrency),
        onProgress: terminalProgress({ enabled: io.progress }),
      });
      io.stdout(`${result.samples.length} rows (${result.created} new) written to ${result.file}\n`);
      // the challenge format has no field for lineage: the samples file beside it keeps every variant's parentId
      if (existsSync(lineageFile(result.file))) io.stdout(`lineage (each variant's parentId): ${lineageFile(result.file)}\n`);
      for (const [key, v] of Object.entries(result.perLabel)) if (v.after !== v.before) io.stdout(`  ${key}: ${v.before} -> ${v.after}\n`);
      const skippedFile = `${result.file}.skipped.jsonl`;
      await rm(skippedFile, { force: true }); // never an earlier run's
      if (result.skipped.length) {
        const file = skippedFile;
        await writeJsonl(file, result.skipped);
        io.stderr(`${result.skipped.length} row(s) or variant(s) skipped (reasons in ${file}):\n`);
        for (const s of result.skipped.slice(0, 20)) io.stderr(`  ${s.id}: ${s.reason} [${s.code}]\n`);
      }
      if (result.skipped.length || errors.length) throw new CliExit(EXIT.partial);
    });

  augment
    .command('preview')
    .description('contact sheet: an image and its variants in a grid, captioned with the ops applied (PNG)')
    .requiredOption('--image <file>', 'source image')
    .requiredOption('--out <file>', 'PNG to write')
    .option('--variants <n>', 'variants to show', intFlag('--variants', { min: 1 }), '11')
    .option('--ops <list>', 'image ops to draw from', list(IMAGE_OPS, 'image op'))
    .option('--n <n>', 'ops per variant', intFlag('--n', { min: 0 }), '2')
    .option('--m <m>', 'magnitude 0-10', numberFlag('--m', { min: 0, max: 10 }), '5')
    .option('--seed <seed>', 'seed', '0')
    .action(async (flags: { image: string; out: string; variants: string; ops?: ImageOpName[]; n: string; m: string; seed: string }) => {
      const policy = imagePolicy(flags.ops, flags.n, flags.m) || { kind: 'randaugment' as const, n: 0, m: 0 };
      const png = await contactSheet(flags.image, policy, { variants: Number(flags.variants), seed: flags.seed });
      await writeFile(flags.out, png);
      io.stdout(`${flags.out}\n`);
    });
  return augment;
}
