import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LlmIrError, writePredictionsJsonl, writeSubmissionCsv, type Prediction, type Sample, type StageContext } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { scoreStage, type RunSummary } from '@llm-ir/eval';
import { augmentStage } from '@llm-ir/augmentation';
import { armFactors, parseArm, predictWithEndpoint, prepareTraining, runTraining, startServer, vllmServeCommand, type ArmConfig, type Checkpoint, type Executor } from '@llm-ir/trainer-bridge';
import { maxImagesPerRow } from '@llm-ir/trainer-bridge/serve';
import { armOcr, armPrompts, checkRunInputs, loadRunSplits, openRun, recordScore, runContext, withRun, type RunArmOptions } from './pipeline.ts';

/** Options of {@link runGpuArm}: those of the CPU pipeline's {@link RunArmOptions}, plus the GPU side. */
export interface RunGpuArmOptions extends RunArmOptions {
  backend: 'llamafactory' | 'swift';
  executor: Executor;
  /** GPUs per node (overrides the arm's `train.gpus`: the one GPU count of the run) and nodes (slurm). */
  gpus?: number;
  nodes?: number;
  /** slurm resources besides the GPUs. */
  slurm?: { partition?: string; time?: string };
  /** An OpenAI-compatible server already serving the adapters (then `vllm serve` is not started). */
  endpoint?: string;
  /** With `endpoint`: the served model (adapter) name to predict with. */
  model?: string;
  /** Port of the `vllm serve` this run starts. @default 8000 */
  port?: number;
}

/**
 * The arm a GPU run trains: its LoRA settings, seeded, on `gpus` GPUs per node and `nodes` nodes when
 * given. Retrieval and self-distillation are stages of the CPU pipeline only; an arm with them is
 * refused here rather than trained without them.
 */
export function gpuArmOf(arm: ArmConfig, options: { seed?: number; gpus?: number; nodes?: number } = {}): ArmConfig {
  const cpuOnly = (['rag', 'distill'] as const).filter((k) => arm[k] !== undefined);
  if (cpuOnly.length) throw new LlmIrError({ code: 'config-invalid', message: `arm ${JSON.stringify(arm.name)} has ${cpuOnly.join(' and ')}: the GPU backends have no ${cpuOnly.join(' / ')} stage (retrieved context and self-distillation run on --backend cpu); remove ${cpuOnly.length > 1 ? 'them' : 'it'} or run with --backend cpu` });
  const train = { ...arm.train, ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.gpus !== undefined ? { gpus: options.gpus } : {}), ...(options.nodes !== undefined ? { nodes: options.nodes } : {}) };
  return parseArm({ ...arm, train }, `arm ${arm.name}`);
}

/**
 * The training rows a GPU trainer is given for an arm, the one path of `llm-ir train` and `llm-ir
 * run` on the GPU backends: the (OCR-attached, see `armOcr`) training rows with the arm's text
 * augmentation (lineage in `parentId`), then the OCR text written into the prompts when the arm
 * trains with it.
 */
export async function gpuTrainingRows(ctx: StageContext, arm: ArmConfig, train: { rows: Sample[]; imagesDir: string }): Promise<Sample[]> {
  return armPrompts(arm, await augmentStage(ctx, train.rows, { factor: arm.augment?.factor ?? 1, imagesDir: train.imagesDir }), 'train');
}

/** The most frequent label of each task in the training rows (the answer for rows the model's reply matched no label). */
function majority(train: readonly Sample[]): Record<string, string> {
  const counts = new Map<string, number>();
  for (const s of train) if (s.label) counts.set(`${s.task}\t${s.label}`, (counts.get(`${s.task}\t${s.label}`) ?? 0) + 1);
  const out: Record<string, string> = {};
  const best: Record<string, number> = {};
  for (const [key, n] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const [task, label] = key.split('\t') as [string, string];
    if (n > (best[task] ?? 0)) {
      best[task] = n;
      out[task] = label;
    }
  }
  return out;
}

/**
 * Runs one arm end to end on a GPU backend: OCR (cached) where the arm wants it, LoRA training of
 * Qwen2-VL with LLaMA-Factory or ms-swift on the executor (local, ssh, slurm; followed to the end,
 * checkpoints every half epoch), then prediction of the test rows with `vllm serve` and one LoRA module
 * per checkpoint (or an already running server: `endpoint` and `model`). The submission is the last
 * checkpoint's; when the test rows carry labels every checkpoint is scored (Table 1's epochs), but the
 * labels never choose the checkpoint. Answers that match no label fall back to the training majority
 * of the task and are logged in `errors.jsonl`. A rerun reuses a finished training and the prediction
 * journals.
 */
export async function runGpuArm(options: RunGpuArmOptions): Promise<{ predictions: Prediction[]; summary?: RunSummary; checkpoints: number; errors: number }> {
  const arm = gpuArmOf(options.arm, { ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.gpus !== undefined ? { gpus: options.gpus } : {}), ...(options.nodes !== undefined ? { nodes: options.nodes } : {}) });
  const out = resolve(options.out);
  const log = options.log ?? (() => {});
  await checkRunInputs(options);
  const run = await openRun(out, {
    config: { ...options, executor: options.executor.kind, onProgress: undefined, log: undefined, signal: undefined, force: undefined },
    resolvedConfig: { arm, backend: options.backend, trainImages: resolve(options.trainImages), testImages: resolve(options.testImages) },
    inputs: { train: options.train, test: options.test },
    ...(options.force ? { force: true } : {}),
    // the training folder and the prediction journals are what a rerun resumes from: kept
    outputs: ['predictions.jsonl', 'submission.csv', 'report.html', 'augment'],
  });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const ctx = runContext(run, options);
  return withRun({ run, ctx, signal: options.signal, notes: (r) => ({ checkpoints: r.checkpoints }) }, async () => {
    try {
      const splits = await loadRunSplits(options.train, options.test, run);
      const ocred = await armOcr(ctx, arm, { rows: splits.train, imagesDir: options.trainImages }, { rows: splits.test, imagesDir: options.testImages });
      const train = await gpuTrainingRows(ctx, arm, { rows: ocred.train, imagesDir: options.trainImages });
      const test = armPrompts(arm, ocred.test, 'test');
      const labelled = splits.labelled.length > 0;

      // training, or the checkpoints of a finished one
      const runDir = join(out, 'train');
      const doneFile = join(runDir, 'training-done.json');
      let checkpoints: Checkpoint[];
      if (existsSync(doneFile)) {
        checkpoints = (JSON.parse(await readFile(doneFile, 'utf8')) as { checkpoints: Checkpoint[] }).checkpoints;
        log(`training: reusing the finished run in ${runDir} (${checkpoints.length} checkpoints)`);
      } else {
        const prepared = await prepareTraining({ backend: options.backend, arm, samples: train, imagesDir: options.trainImages, runDir });
        log(`training: ${prepared.rows} rows, ${prepared.stepsPerEpoch} steps per epoch on ${options.executor.kind}: ${prepared.command.join(' ')}`);
        const result = await runTraining(prepared, options.executor, { run, log, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.slurm ? { slurm: options.slurm } : {}) });
        checkpoints = result.checkpoints;
        await writeFileAtomic(doneFile, `${JSON.stringify({ state: result.status.state, checkpoints }, null, 1)}\n`);
      }

      // prediction: one served LoRA module per checkpoint (or the given server and model)
      let models: Array<{ name: string; checkpoint?: Checkpoint }>;
      let baseURL: string;
      if (options.endpoint) {
        if (!options.model) throw new LlmIrError({ code: 'config-invalid', message: '--endpoint needs --model (the served adapter to predict with)' });
        baseURL = options.endpoint;
        models = [{ name: options.model }];
      } else {
        const serve = (loras: Array<{ name: string; path: string }>, where: { port?: number; host?: string }) => vllmServeCommand({ model: arm.model, loras, loraRank: arm.lora.rank, maxImages: maxImagesPerRow(test), imageMaxPixels: arm.train.imageMaxPixels, ...where });
        if (options.executor.kind !== 'local') {
          // never serve on a login node: the checkpoints and the GPUs are on the cluster or the ssh host
          const where = options.executor.kind === 'ssh' ? 'on the ssh host' : 'in a SLURM job on a GPU node (e.g. `srun --gres=gpu:1 <command>`)';
          throw new LlmIrError({ code: 'config-invalid', message: `the checkpoints are served ${where}, not here: run \`${serve(checkpoints.map((c) => ({ name: `epoch-${c.epoch}`, path: c.path })), { host: '0.0.0.0' }).join(' ')}\` there and pass --endpoint and --model` });
        }
        if (checkpoints.length === 0) throw new LlmIrError({ code: 'training-failed', message: `training in ${runDir} left no checkpoint to predict with` });
        // Table 1 scores every checkpoint when there are labels; without them only the last one is needed
        const use = labelled ? checkpoints : checkpoints.slice(-1);
        models = use.map((c) => ({ name: `epoch-${c.epoch}`, checkpoint: c }));
        const port = options.port ?? 8000;
        baseURL = `http://127.0.0.1:${port}/v1`;
        server = await startServer(serve(models.map((m) => ({ name: m.name, path: m.checkpoint!.path })), { port }), { baseURL, logFile: join(out, 'vllm.log') });
      }
      const fallback = majority(train);
      const perModel: Array<{ name: string; checkpoint?: Checkpoint; predictions: Prediction[] }> = [];
      for (const m of models) {
        const r = await predictWithEndpoint(test, { baseURL, model: m.name, imagesDir: options.testImages, imageMaxPixels: arm.train.imageMaxPixels, journal: join(out, 'predict', `${m.name}.jsonl`), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
        const byId = new Map(r.predictions.map((p) => [p.id, p]));
        const problems = new Map([...r.unmatched, ...r.failed].map((u) => [u.id, u.reason]));
        const predictions = test.map((s): Prediction => byId.get(s.id) ?? { id: s.id, task: s.task, label: fallback[s.task] ?? '' });
        for (const [id, reason] of problems) await run.logError({ code: 'unmatched-answer', message: `${m.name}: ${reason}; predicted the training majority instead`, id });
        if (problems.size) log(`${m.name}: ${problems.size} answers matched no label (training majority used, see errors.jsonl)`);
        perModel.push({ name: m.name, ...(m.checkpoint ? { checkpoint: m.checkpoint } : {}), predictions });
      }
      const final = perModel[perModel.length - 1]!;
      await writePredictionsJsonl(join(out, 'predictions.jsonl'), final.predictions);
      await writeSubmissionCsv(join(out, 'submission.csv'), final.predictions.map((p) => ({ id: p.id, predict: p.label })));
      let summary: RunSummary | undefined;
      if (labelled) {
        const checkpointed = perModel.filter((m) => m.checkpoint).map((m) => ({ epoch: m.checkpoint!.epoch, step: m.checkpoint!.step, predictions: m.predictions }));
        const scored = await scoreStage(ctx, { name: arm.name, ...(arm.description ? { description: arm.description } : {}), labelled: splits.labelled, predictions: final.predictions, factors: armFactors(arm), checkpoints: checkpointed }, { title: `llm-ir arm ${arm.name} (${options.backend})` });
        await recordScore(run, scored);
        summary = scored.summary;
      }
      return { predictions: final.predictions, ...(summary ? { summary } : {}), checkpoints: checkpoints.length, errors: run.info.errorCount };
    } finally {
      await server?.stop();
    }
  });
}
