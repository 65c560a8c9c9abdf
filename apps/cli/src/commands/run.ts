import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { LlmIrError } from '@llm-ir/core';
import { estimateEffects, loadGold, loadPredictions, readRunResults, table2, tableToMarkdown, writeReport, type FactorialRun } from '@llm-ir/eval';
import { CliExit, EXIT, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { runGpuArm } from '../gpu-pipeline.ts';
import { armFactors, parseArm, type ArmConfig } from '@llm-ir/trainer-bridge';
import { cliArm, runArm } from '../pipeline.ts';
import { executorFor, gpuCountOf, slurmOptionsOf, withExecutorOptions } from './train.ts';
import { intFlag } from '../flags.ts';

/** The full factorial over the binary switches: OCR (train and infer), augmentation, retrieval, distillation. */
export function gridArms(): ArmConfig[] {
  const arms: ArmConfig[] = [];
  for (let m = 0; m < 16; m++) {
    const ocr = (m & 1) === 1;
    const on = { augment: (m & 2) === 2, rag: (m & 4) === 4, distill: (m & 8) === 8 };
    const name = ['grid', ocr ? 'ocr' : 'noocr', ...Object.entries(on).filter(([, v]) => v).map(([k]) => k)].join('-');
    arms.push(parseArm({
      name,
      ocr: { train: ocr, infer: ocr },
      ...(on.augment ? { augment: { factor: 2 } } : {}),
      ...(on.rag ? { rag: {} } : {}),
      ...(on.distill ? { distill: {} } : {}),
    }, name));
  }
  return arms;
}

/** The seconds of each stage of a run, as two aligned lines (stage names, seconds) with the total. */
function stageTable(name: string, stages: ReadonlyArray<{ stage: string; seconds: number }>): string {
  const cells = [...stages.map((t) => [t.stage, t.seconds.toFixed(1)]), ['total', stages.reduce((a, t) => a + t.seconds, 0).toFixed(1)]];
  const widths = cells.map(([a, b]) => Math.max(a!.length, b!.length));
  return `${name}: time per stage\n  stage    ${cells.map(([a], i) => a!.padStart(widths[i]!)).join('  ')}\n  seconds  ${cells.map(([, b], i) => b!.padStart(widths[i]!)).join('  ')}\n`;
}

/** `llm-ir run`: one arm (or the grid) end to end. */
export function runCommand(io: CliIo): Command {
  return withExecutorOptions(new Command('run'))
    .description('run an arm end to end (OCR, augmentation, retrieval, teacher labels, training, prediction; scored when the test rows have labels), or the full factorial grid')
    .option('--arm <arm...>', 'arm names (apps/ablation/arms), presets, or JSON / YAML files', ['baseline'])
    .option('--grid', 'run the full factorial over ocr, augment, rag, distill (16 arms) and report component effects', false)
    .requiredOption('--train <file>', 'training rows (challenge JSON)')
    .requiredOption('--train-images <dir>', 'training images')
    .requiredOption('--test <file>', 'test rows (labels optional: used for scoring only)')
    .requiredOption('--test-images <dir>', 'test images')
    .requiredOption('--out <dir>', 'output folder (one sub-folder per arm with --grid or several arms)')
    .addOption(new Option('--backend <backend>', 'trainer: the CPU student, or LoRA on GPUs with LLaMA-Factory / ms-swift (arms without rag / distill)').choices(['cpu', 'llamafactory', 'swift']).default('cpu'))
    .option('--endpoint <url>', 'GPU backends: predict with this OpenAI-compatible server instead of starting `vllm serve`')
    .option('--model <name>', 'with --endpoint: the served adapter to predict with')
    .option('--port <port>', 'GPU backends: port of the `vllm serve` started for prediction', intFlag('--port', { min: 1, max: 65535 }), '8000')
    .option('--seed <seed>', 'seed', intFlag('--seed', { min: 0 }), '0')
    .option('--cache <dir>', 'artifact cache', '.llm-ir-cache')
    .option('--force', 'replace a run of another configuration in --out (a rerun of the same configuration resumes without it)', false)
    .option('--rationales <file>', 'CPU backend: LLM rationales JSONL ({id, label, reason}, e.g. rationales.gpt-4o.jsonl); those of the training rows become extra student rows (intent by default)')
    .action(async (flags: { force: boolean; arm: string[]; grid: boolean; train: string; trainImages: string; test: string; testImages: string; out: string; seed: string; cache: string; backend: 'cpu' | 'llamafactory' | 'swift'; executor: string; host?: string; remoteDir?: string; partition?: string; gpus?: string; nodes?: string; time?: string; endpoint?: string; model?: string; port: string; rationales?: string }) => {
      if (flags.rationales && flags.backend !== 'cpu') throw new LlmIrError({ code: 'config-invalid', message: '--rationales feeds the CPU student (--backend cpu); the GPU backends do not take it' });
      if (flags.grid && flags.backend !== 'cpu') throw new LlmIrError({ code: 'config-invalid', message: '--grid runs on --backend cpu (its switches are the CPU pipeline\'s); run the paper\'s arms on GPUs with --arm' });
      const arms = flags.grid ? gridArms() : await Promise.all(flags.arm.map((a) => cliArm(a)));
      const single = arms.length === 1 && !flags.grid;
      const dirs: string[] = [];
      let skipped = 0;
      for (const arm of arms) {
        const out = single ? resolve(flags.out) : join(resolve(flags.out), arm.name.replace(/^\+/, 'plus-'));
        const t0 = performance.now();
        const common = { arm, train: flags.train, trainImages: flags.trainImages, test: flags.test, testImages: flags.testImages, out, seed: Number(flags.seed), cacheDir: flags.cache, onProgress: terminalProgress({ enabled: io.progress }), log: (l: string) => io.stderr(`${l}\n`), force: flags.force, ...(flags.rationales ? { rationales: flags.rationales } : {}), ...(io.signal ? { signal: io.signal } : {}) };
        const r = flags.backend === 'cpu'
          ? await runArm(common)
          : await runGpuArm({
              ...common,
              backend: flags.backend,
              executor: executorFor(flags.executor, flags),
              port: Number(flags.port),
              ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
              ...(flags.model ? { model: flags.model } : {}),
              slurm: slurmOptionsOf(flags),
              ...gpuCountOf(flags),
            });
        dirs.push(out);
        skipped += r.errors;
        if (r.errors) io.stderr(`${arm.name}: ${r.errors} row(s) or image(s) skipped, each with its reason in ${join(out, 'errors.jsonl')}\n`);
        const s = r.summary;
        if ('stages' in r) io.stderr(stageTable(arm.name, r.stages));
        io.stdout(`${arm.name.padEnd(28)} ${s ? `average ${(100 * s.average).toFixed(2)}  scene ${(100 * s.scene.weightedF1).toFixed(2)}  intent ${(100 * s.intent.weightedF1).toFixed(2)}` : `${r.predictions.length} predictions`}  (${((performance.now() - t0) / 1000).toFixed(1)} s)  ${out}\n`);
      }
      if (!single && existsSync(join(dirs[0]!, 'summary.json'))) {
        const runs = await readRunResults(dirs);
        let effects;
        if (flags.grid) {
          const { gold } = await loadGold(flags.test);
          const factorial: FactorialRun[] = [];
          for (const [i, arm] of arms.entries()) {
            const f = armFactors(arm);
            factorial.push({ name: arm.name, factors: { ocr: f['ocrTrain']!, augment: f['augment']!, rag: f['rag']!, distill: f['distill']! }, predictions: await loadPredictions(join(dirs[i]!, 'predictions.jsonl')) });
          }
          effects = estimateEffects(gold, factorial, { resamples: 500, seed: Number(flags.seed) });
        }
        const report = join(resolve(flags.out), 'report.html');
        await writeReport(report, { title: 'llm-ir ablation', subtitle: `${runs.length} arms, ${flags.backend} backend`, runs, baseline: runs[0]!.arm, ...(effects ? { effects } : {}) });
        io.stdout(`\n${tableToMarkdown(table2(runs, { baseline: runs[0]!.arm }))}\nreport: ${report}\n`);
      }
      if (skipped) throw new CliExit(EXIT.partial);
    });
}
