import { join } from 'node:path';
import { Command } from 'commander';
import { LlmIrError, writePredictionsJsonl, writeSubmissionCsv, type Prediction } from '@llm-ir/core';
import { writeChallengeFile } from '@llm-ir/core/challenge';
import { readJsonl, writeFileAtomic, writeJsonl } from '@llm-ir/core/io';
import { ecommerceLexicon } from '@llm-ir/augmentation';
import { createStudent, ensembleTeacher, fileTeacher, loadStudent, openaiTeacher, pseudoLabel, type Teacher } from '@llm-ir/distill';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { armRationales } from '../pipeline.ts';
import { terminalProgress } from '../progress-bar.ts';
import { intFlag, numberFlag } from '../flags.ts';

/** Parses `openai:<baseURL>#<model>`, `file:<path>` or `ensemble:<a>,<b>`. */
function parseTeacher(spec: string, opts: { images: string; concurrency: number; journal: string; onNotice?: (line: string) => void }): Teacher {
  if (spec.startsWith('ensemble:')) {
    const parts = spec.slice('ensemble:'.length).split(',');
    return ensembleTeacher(parts.map((p, i) => parseTeacher(p, { ...opts, journal: `${opts.journal}.${i}` })));
  }
  if (spec.startsWith('file:')) return fileTeacher(spec.slice('file:'.length));
  if (spec.startsWith('openai:')) {
    const rest = spec.slice('openai:'.length);
    const hash = rest.lastIndexOf('#');
    if (hash === -1) throw new LlmIrError({ code: 'config-invalid', message: 'openai teacher needs openai:<baseURL>#<model>' });
    return openaiTeacher({ baseURL: rest.slice(0, hash), model: rest.slice(hash + 1), imagesDir: opts.images, concurrency: opts.concurrency, journal: opts.journal, ...(opts.onNotice ? { onNotice: opts.onNotice } : {}) });
  }
  throw new LlmIrError({ code: 'config-invalid', message: `unknown teacher ${JSON.stringify(spec)} (openai:<url>#<model>, file:<path>, ensemble:<a>,<b>)` });
}

/** `llm-ir distill label | train | predict`. */
export function distillCommand(io: CliIo): Command {
  const distill = new Command('distill').description('knowledge distillation: teachers, pseudo-labels, and the CPU student');

  distill
    .command('label')
    .description('label (unlabelled) rows with a teacher: writes pseudo-labelled train.json, soft.jsonl and report.json')
    .requiredOption('--teacher <spec>', 'openai:<baseURL>#<model> | file:<path> | ensemble:<a>,<b> (API key from OPENAI_API_KEY)')
    .requiredOption('--in <file>', 'challenge JSON or JSONL of rows')
    .requiredOption('--images <dir>', 'folder of the images')
    .requiredOption('--out <dir>', 'output folder')
    .option('--concurrency <n>', 'requests at once', intFlag('--concurrency', { min: 1 }), '8')
    .option('--min-confidence <p>', 'keep rows whose top probability is at least p', numberFlag('--min-confidence', { min: 0, max: 1 }), '0.5')
    .option('--min-agreement <p>', 'ensemble: share of teachers that must agree', numberFlag('--min-agreement', { min: 0, max: 1 }), '0')
    .option('--per-class-cap <n>', 'rows kept per class at most', intFlag('--per-class-cap', { min: 1 }))
    .action(async (flags: { teacher: string; in: string; images: string; out: string; concurrency: string; minConfidence: string; minAgreement: string; perClassCap?: string }) => {
      const { samples, errors } = await loadOrReport(flags.in, io);
      const teacher = parseTeacher(flags.teacher, { images: flags.images, concurrency: Number(flags.concurrency), journal: join(flags.out, 'journal.jsonl'), onNotice: (line) => io.stderr(`${line}\n`) });
      const unlabelled = samples.map(({ label: _l, ...s }) => s);
      const failures: Array<{ id: string; code: string; status?: number; message: string }> = [];
      const result = await pseudoLabel(unlabelled, teacher, {
        onError: (id, e) => {
          const { status } = e as { status?: number };
          failures.push({ id, code: e.code, ...(status ? { status } : {}), message: e.message });
        },
        minConfidence: Number(flags.minConfidence),
        minAgreement: Number(flags.minAgreement),
        ...(flags.perClassCap ? { perClassCap: Number(flags.perClassCap) } : {}),
        onProgress: terminalProgress({ enabled: io.progress }),
      });
      const failed = result.report.dropped.unlabelled;
      await writeChallengeFile(join(flags.out, 'train.json'), result.rows);
      await writeJsonl(join(flags.out, 'soft.jsonl'), result.soft);
      await writeFileAtomic(join(flags.out, 'report.json'), `${JSON.stringify(result.report, null, 2)}\n`);
      // every row the teacher could not label, with why: errors.jsonl (this run's only)
      const errorsFile = join(flags.out, 'errors.jsonl');
      failures.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      await writeJsonl(errorsFile, failures);
      io.stdout(`${result.rows.length} of ${samples.length} rows kept (${teacher.id}); soft labels for ${result.soft.length}; ${failed} could not be labelled\n`);
      if (failures.length) {
        const byCode = new Map<string, number>();
        for (const f of failures) {
          const kind = `${f.code}${f.status ? ` (HTTP ${f.status})` : ''}`;
          byCode.set(kind, (byCode.get(kind) ?? 0) + 1);
        }
        io.stderr(`${failures.length} row(s) not labelled: ${[...byCode].map(([k, n]) => `${n} ${k}`).join(', ')}; each with its reason in ${errorsFile} (first: ${failures[0]!.id}: ${failures[0]!.message.slice(0, 200)})\n`);
      }
      if (failed > 0 || errors.length) throw new CliExit(EXIT.partial);
    });

  distill
    .command('train')
    .description('train the CPU student on gold labels and/or teacher soft labels')
    .requiredOption('--train <file>', 'challenge JSON / samples JSONL (OCR attached by `llm-ir ocr dataset` is used)')
    .option('--images <dir>', 'folder of the images (image statistics)')
    .option('--soft <file>', 'soft labels JSONL ({id, probs}) from `distill label`')
    .requiredOption('--out <file>', 'student model JSON to write')
    .option('--alpha <a>', 'weight of gold CE vs teacher KL for rows with both', numberFlag('--alpha', { min: 0, max: 1 }), '0.5')
    .option('--temperature <t>', 'distillation temperature', numberFlag('--temperature', { above: 0 }), '2')
    .option('--c <c>', 'inverse L2 strength for both tasks (default: each task\'s own, chosen by nested CV)', numberFlag('--c', { above: 0 }))
    .option('--no-lexicon', 'without the e-commerce lexicon features')
    .option('--rationales <file>', 'LLM rationales JSONL ({id, label, reason}, e.g. rationales.gpt-4o.jsonl): those of --train rows become extra training rows (used by the tasks whose student setting `rationales` is on: intent by default)')
    .action(async (flags: { train: string; images?: string; soft?: string; out: string; alpha: string; temperature: string; c?: string; lexicon: boolean; rationales?: string }) => {
      const { samples, errors } = await loadOrReport(flags.train, io, { labels: true });
      let badRationales = 0;
      const rationales = flags.rationales
        ? await armRationales({ log: (l) => io.stderr(`${l}\n`), onError: (e) => { badRationales++; io.stderr(`${e.message} [${e.code}]\n`); } }, samples, flags.rationales)
        : [];
      const soft = new Map<string, Record<string, number>>();
      let badImages = 0;
      const onImageError = (e: LlmIrError) => {
        badImages++;
        io.stderr(`${e.message} [${e.code}] (image statistics left at the training mean)\n`);
      };
      if (flags.soft) for await (const r of readJsonl<{ id: string; probs: Record<string, number> }>(flags.soft)) if (r.ok) soft.set(r.value.id, r.value.probs);
      const student = createStudent({
        features: { ...(flags.images ? { imagesDir: flags.images, onImageError } : {}), ...(flags.lexicon ? { lexicon: ecommerceLexicon() } : {}) },
        alpha: Number(flags.alpha),
        temperature: Number(flags.temperature),
        ...(flags.c !== undefined ? { C: Number(flags.c) } : {}),
      });
      const t0 = performance.now();
      await student.fitWithSoft([...samples, ...rationales], soft, { onProgress: terminalProgress({ enabled: io.progress }) });
      await student.save(flags.out);
      const d = student.describe();
      io.stdout(`student trained in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${Object.entries(d).map(([t, v]) => `${t} ${v.features} features, ${v.iterations} iterations`).join('; ')} -> ${flags.out}\n`);
      if (errors.length || badImages || badRationales) {
        io.stderr(`${errors.length} bad row(s) skipped, ${badImages} image(s) unreadable${badRationales ? `, ${badRationales} rationale line(s) unusable` : ''}\n`);
        throw new CliExit(EXIT.partial);
      }
    });

  distill
    .command('predict')
    .description('predict with a trained student: writes submission.csv and predictions.jsonl')
    .requiredOption('--model <file>', 'student model JSON')
    .requiredOption('--in <file>', 'challenge JSON / samples JSONL')
    .option('--images <dir>', 'folder of the images')
    .requiredOption('--out <dir>', 'output folder')
    .option('--no-lexicon', 'the model was trained without lexicon features')
    .action(async (flags: { model: string; in: string; images?: string; out: string; lexicon: boolean }) => {
      const { samples, errors } = await loadOrReport(flags.in, io);
      const student = await loadStudent(flags.model, { ...(flags.images ? { imagesDir: flags.images } : {}), ...(flags.lexicon ? { lexicon: ecommerceLexicon() } : {}) });
      const preds: Prediction[] = await student.predictProba(samples);
      await writeSubmissionCsv(join(flags.out, 'submission.csv'), preds.map((p) => ({ id: p.id, predict: p.label })));
      await writePredictionsJsonl(join(flags.out, 'predictions.jsonl'), preds);
      io.stdout(`${preds.length} predictions written to ${flags.out}\n`);
      if (errors.length) throw new CliExit(EXIT.partial);
    });
  return distill;
}
