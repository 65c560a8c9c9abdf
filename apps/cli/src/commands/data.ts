import { mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Command, Option } from 'commander';
import stringWidth from 'string-width';
import { loadSamples, stratifiedKFold, stratifiedSplit, summarizeSamples, validateFile, type DatasetSummary, type LlmIrError, type Problem } from '@llm-ir/core';
import { writeChallengeFile, writeSamplesJsonl } from '@llm-ir/core/challenge';
import { type NumberStats } from '@llm-ir/core/run';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { intFlag, numberFlag } from '../flags.ts';

function problemLine(file: string, p: Problem): string {
  const where = p.row === null ? file : `${file} row ${p.row}${p.id ? ` (id ${p.id})` : ''}`;
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message} [${p.code}${p.severity === 'warning' ? ', warning' : ''}]`;
}

function errorRecord(e: LlmIrError) {
  return { row: e.row ?? null, id: e.id ?? null, field: e.field ?? null, code: e.code, message: e.reason };
}

function parseSeed(value: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

function fmtStats(s: NumberStats, digits = 0): string {
  if (s.count === 0) return '-';
  const f = (x: number) => x.toFixed(digits);
  return `min ${f(s.min)} | median ${f(s.median)} | mean ${s.mean.toFixed(1)} | max ${f(s.max)}`;
}

function renderSummary(file: string, s: DatasetSummary, bad: LlmIrError[]): string {
  const out: string[] = [];
  out.push(`${file}: ${s.rows} rows (scene ${s.tasks.scene}, intent ${s.tasks.intent})${bad.length ? `, ${bad.length} bad row(s) left out` : ''}`);
  for (const task of ['scene', 'intent'] as const) {
    const entries = Object.entries(s.labels[task]);
    if (entries.length === 0) continue;
    out.push('', `${task} labels (${entries.length}):`);
    const names = entries.map(([l]) => l || '(unlabelled)');
    const width = Math.max(...names.map((l) => stringWidth(l)));
    entries.forEach(([, n], i) => out.push(`  ${names[i]}${' '.repeat(width - stringWidth(names[i]!))} ${String(n).padStart(5)}`));
  }
  out.push('', `images per row: ${Object.entries(s.imagesPerRow).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  out.push(`dialogue turns: ${fmtStats(s.dialogueTurns)}`);
  out.push(`dialogue chars: ${fmtStats(s.dialogueChars)}`);
  if (s.imageSize) {
    out.push(`image width:    ${fmtStats(s.imageSize.width)}`);
    out.push(`image height:   ${fmtStats(s.imageSize.height)}`);
    out.push(`image bytes:    ${fmtStats(s.imageSize.bytes)}`);
    out.push(`image formats:  ${Object.entries(s.imageSize.formats).map(([k, v]) => `${k}: ${v}`).join(', ')}${s.imageSize.unreadable ? `; unreadable: ${s.imageSize.unreadable}` : ''}`);
  }
  if (bad.length) {
    out.push('', 'bad rows:');
    for (const e of bad) out.push(`  ${e.message} [${e.code}]`);
  }
  return `${out.join('\n')}\n`;
}

/** `llm-ir data ...`: validate, inspect, split and convert challenge data. */
export function dataCommand(io: CliIo): Command {
  const data = new Command('data').description('check, summarise, split and convert challenge-format data');

  data
    .command('validate')
    .description('check every row and image; one line per problem naming row, id and reason; exit 1 if any')
    .argument('<file>', 'challenge JSON array or JSONL of rows')
    .option('--images <dir>', 'folder the row image names resolve in (images are checked only with it)')
    .option('--require-labels', 'every row must have a non-empty output', false)
    .option('--allow-warnings', 'exit 0 when only warnings (BOM, CRLF line ends) were found', false)
    .option('--json', 'print one JSON object {file, rows?, problems}', false)
    .action(async (file: string, opts: { images?: string; requireLabels: boolean; allowWarnings: boolean; json: boolean }) => {
      const problems = await validateFile(file, {
        ...(opts.images !== undefined ? { imagesDir: opts.images } : {}),
        requireLabels: opts.requireLabels,
        onProgress: terminalProgress({ enabled: io.progress && !opts.json }),
      });
      if (opts.json) io.stdout(`${JSON.stringify({ file, problems })}\n`);
      else {
        for (const p of problems) io.stdout(`${problemLine(file, p)}\n`);
        const errors = problems.filter((p) => p.severity === 'error').length;
        io.stderr(problems.length === 0 ? `${file}: no problems\n` : `${file}: ${errors} error(s), ${problems.length - errors} warning(s)\n`);
      }
      const failing = opts.allowWarnings ? problems.filter((p) => p.severity === 'error') : problems;
      if (failing.length > 0) throw new CliExit(EXIT.failed);
    });

  data
    .command('inspect')
    .description('rows per task and label, images per row, dialogue length and image size statistics')
    .argument('<file>', 'challenge JSON array or JSONL of rows or samples')
    .option('--images <dir>', 'folder of the images (adds image size statistics)')
    .option('--json', 'print one JSON object', false)
    .action(async (file: string, opts: { images?: string; json: boolean }) => {
      const { samples, errors } = await loadSamples(file);
      const summary = await summarizeSamples(samples, {
        ...(opts.images !== undefined ? { imagesDir: opts.images } : {}),
        onProgress: terminalProgress({ enabled: io.progress && !opts.json }),
      });
      if (opts.json) io.stdout(`${JSON.stringify({ file, ...summary, badRows: errors.map(errorRecord) })}\n`);
      else io.stdout(renderSummary(file, summary, errors));
      if (errors.length > 0) throw new CliExit(EXIT.partial);
    });

  data
    .command('split')
    .description('stratified (task x label), seeded, lineage-aware split into challenge-format files')
    .argument('<file>', 'challenge JSON array or JSONL')
    .requiredOption('--out <dir>', 'output folder')
    .option('--test-fraction <p>', 'fraction of rows in test.json', numberFlag('--test-fraction', { above: 0, max: 1 }), '0.2')
    .option('--k <k>', 'write k folds (fold-<i>/train.json, fold-<i>/test.json) instead of one split', intFlag('--k', { min: 1 }))
    .option('--seed <seed>', 'seed of the shuffle', '0')
    .action(async (file: string, opts: { out: string; testFraction: string; k?: string; seed: string }) => {
      const { samples, errors } = await loadOrReport(file, io);
      const seed = parseSeed(opts.seed);
      await mkdir(opts.out, { recursive: true });
      if (opts.k !== undefined) {
        const k = Number(opts.k);
        const folds = stratifiedKFold(samples, { k, seed });
        for (let f = 0; f < k; f++) {
          await writeChallengeFile(join(opts.out, `fold-${f}`, 'train.json'), samples.filter((_, i) => folds[i] !== f));
          await writeChallengeFile(join(opts.out, `fold-${f}`, 'test.json'), samples.filter((_, i) => folds[i] === f));
          io.stderr(`fold ${f}: ${folds.filter((x) => x !== f).length} train, ${folds.filter((x) => x === f).length} test\n`);
        }
      } else {
        const { train, test } = stratifiedSplit(samples, { testFraction: Number(opts.testFraction), seed });
        await writeChallengeFile(join(opts.out, 'train.json'), train);
        await writeChallengeFile(join(opts.out, 'test.json'), test);
        io.stderr(`${train.length} train, ${test.length} test rows written to ${opts.out}\n`);
      }
      if (errors.length > 0) throw new CliExit(EXIT.partial);
    });

  data
    .command('convert')
    .description('challenge JSON <-> JSONL of Sample objects (direction from the output extension)')
    .argument('<in>', 'input file (.json challenge array, or .jsonl of rows or samples)')
    .argument('<out>', 'output file: .jsonl writes samples, .json writes a challenge array')
    .addOption(new Option('--to <format>', 'output format (default: from the extension)').choices(['samples', 'challenge']))
    .action(async (input: string, output: string, opts: { to?: 'samples' | 'challenge' }) => {
      const { samples, errors } = await loadOrReport(input, io);
      const to = opts.to ?? (extname(output).toLowerCase() === '.jsonl' ? 'samples' : 'challenge');
      if (to === 'samples') await writeSamplesJsonl(output, samples);
      else await writeChallengeFile(output, samples);
      io.stderr(`${samples.length} rows written to ${output}${errors.length ? ` (${errors.length} bad rows left out)` : ''}\n`);
      if (errors.length > 0) throw new CliExit(EXIT.partial);
    });

  return data;
}
