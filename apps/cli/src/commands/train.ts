import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { LlmIrError, writePredictionsJsonl, writeSubmissionCsv } from '@llm-ir/core';
import { writeFileAtomic } from '@llm-ir/core/io';
import { executorForHandle, loadHandle, localExecutor, parseArm, predictWithEndpoint, prepareTraining, runTraining, slurmExecutor, sshExecutor, type Executor } from '@llm-ir/trainer-bridge';
import { armOcr, armRationales, checkRunInputs, cliArm, loadRunSplits, openRun, runContext, trainArmStudent, withRun } from '../pipeline.ts';
import { gpuArmOf, gpuTrainingRows } from '../gpu-pipeline.ts';
import { CliExit, EXIT, loadOrReport, type CliIo } from '../context.ts';
import { terminalProgress } from '../progress-bar.ts';
import { intFlag } from '../flags.ts';

/** The executor a `--executor` flag names (ssh needs `--host` and `--remote-dir`). */
export function executorFor(kind: string, flags: { host?: string; remoteDir?: string }): Executor {
  if (kind === 'local') return localExecutor();
  if (kind === 'slurm') return slurmExecutor();
  if (!flags.host || !flags.remoteDir) throw new LlmIrError({ code: 'config-invalid', message: '--executor ssh needs --host and --remote-dir' });
  return sshExecutor({ host: flags.host, remoteDir: flags.remoteDir });
}

/** The executor flags of `llm-ir train` and `llm-ir run`. */
export interface ExecutorFlags {
  executor: string;
  host?: string;
  remoteDir?: string;
  partition?: string;
  gpus?: string;
  nodes?: string;
  time?: string;
}

/** Adds `--executor` and its ssh and slurm options to a command. */
export function withExecutorOptions(command: Command): Command {
  return command
    .addOption(new Option('--executor <executor>', 'where GPU jobs run').choices(['local', 'ssh', 'slurm']).default('local'))
    .option('--host <host>', 'ssh: host')
    .option('--remote-dir <dir>', 'ssh: folder on the host')
    .option('--partition <p>', 'slurm: partition')
    .option('--gpus <n>', 'GPUs per node, on every executor: pins CUDA_VISIBLE_DEVICES, sets the trainer\'s processes and the checkpoint steps (overrides the arm\'s train.gpus)', intFlag('--gpus', { min: 1 }))
    .option('--nodes <n>', 'slurm: nodes (world size = gpus x nodes)', intFlag('--nodes', { min: 1 }))
    .option('--time <t>', 'slurm: time limit (e.g. 24:00:00)');
}

/** The slurm resources the flags ask for besides the GPUs (those are the arm's, see {@link gpuCountOf}). */
export function slurmOptionsOf(flags: ExecutorFlags): { partition?: string; time?: string } {
  return { ...(flags.partition ? { partition: flags.partition } : {}), ...(flags.time ? { time: flags.time } : {}) };
}

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new LlmIrError({ code: 'config-invalid', message: `${flag} must be a whole number >= 1, got ${JSON.stringify(value)}` });
  return n;
}

/** `--gpus` and `--nodes` as numbers (checked): the one GPU count of a run, overriding the arm's. */
export function gpuCountOf(flags: ExecutorFlags): { gpus?: number; nodes?: number } {
  const gpus = wholeNumber('--gpus', flags.gpus);
  const nodes = wholeNumber('--nodes', flags.nodes);
  if (nodes !== undefined && nodes > 1 && flags.executor !== 'slurm') throw new LlmIrError({ code: 'config-invalid', message: `--nodes ${nodes} needs --executor slurm` });
  return { ...(gpus !== undefined ? { gpus } : {}), ...(nodes !== undefined ? { nodes } : {}) };
}

/** `llm-ir train` (run, status, logs, cancel) and `llm-ir predict`. */
export function trainCommands(io: CliIo): Command[] {
  const train = new Command('train').description('fine-tune (LLaMA-Factory / ms-swift LoRA on GPUs, or the CPU student) an arm of the experiment');
  withExecutorOptions(train.command('run', { isDefault: true }))
    .description('export data and config for an arm, then submit and follow the run (or print the commands with --dry-run)')
    .addOption(new Option('--backend <backend>', 'trainer').choices(['llamafactory', 'swift', 'cpu']).default('llamafactory'))
    .requiredOption('--arm <arm>', 'an arm of apps/ablation/arms (full, +augment, ...), a preset (baseline | ocr-train | ocr-train-infer | lora-r16-a32-ocr), or a JSON/YAML arm file')
    .requiredOption('--train <file>', 'training rows (challenge JSON)')
    .requiredOption('--images <dir>', 'images folder')
    .requiredOption('--out <dir>', 'run folder')
    .option('--dry-run', 'write every file and print the exact commands, submit nothing', false)
    .option('--cache <dir>', 'artifact cache (OCR, students)', '.llm-ir-cache')
    .option('--seed <seed>', 'seed of the augmentation, the CPU student and the GPU trainer (overrides the arm\'s train.seed, as `llm-ir run --seed` does)', intFlag('--seed', { min: 0 }), '0')
    .option('--force', 'replace a run of another configuration in --out (a rerun of the same one resumes without it)', false)
    .option('--rationales <file>', '--backend cpu: LLM rationales JSONL ({id, label, reason}); those of the training rows become extra student rows (intent by default), as in `llm-ir run`')
    .action(async (flags: ExecutorFlags & { backend: 'llamafactory' | 'swift' | 'cpu'; arm: string; train: string; images: string; out: string; dryRun: boolean; cache: string; seed: string; force: boolean; rationales?: string }) => {
      if (flags.rationales && flags.backend !== 'cpu') throw new LlmIrError({ code: 'config-invalid', message: '--rationales feeds the CPU student (--backend cpu); the GPU backends do not take it' });
      const read = await cliArm(flags.arm);
      // the GPU backends refuse arms with CPU-only stages (rag, distill), as `llm-ir run` does
      const arm = flags.backend === 'cpu' ? parseArm({ ...read, train: { ...read.train, ...gpuCountOf(flags) } }, `arm ${read.name}`) : gpuArmOf(read, { ...gpuCountOf(flags), seed: Number(flags.seed) });
      const runDir = resolve(flags.out);
      await checkRunInputs({ train: flags.train, trainImages: flags.images });
      const run = await openRun(runDir, {
        config: { ...flags },
        resolvedConfig: { arm, backend: flags.backend, executor: flags.executor, images: resolve(flags.images), seed: Number(flags.seed) },
        inputs: { train: flags.train, ...(flags.rationales ? { rationales: flags.rationales } : {}) },
        ...(flags.force ? { force: true } : {}),
        // a GPU run folder holds the training a rerun re-attaches to or resumes: only the rows written again are removed
        outputs: ['student.json', 'augment'],
      });
      const ctx = runContext(run, { out: runDir, seed: Number(flags.seed), cacheDir: flags.cache, onProgress: terminalProgress({ enabled: io.progress }), log: (l) => io.stderr(`${l}\n`), ...(io.signal ? { signal: io.signal } : {}) });
      await withRun({ run, ctx, signal: io.signal, notes: (r: Record<string, unknown>) => r }, async (): Promise<Record<string, unknown>> => {
        const { train: samples } = await loadRunSplits(flags.train, undefined, run);
        const { train: withOcr } = await armOcr(ctx, arm, { rows: samples, imagesDir: flags.images });
        if (flags.backend === 'cpu') {
          // the training half of `llm-ir run --backend cpu`, so both train the same student
          if (arm.rag || arm.distill) io.stderr(`${arm.name}: ${[arm.rag ? 'retrieval' : '', arm.distill ? 'self-distillation' : ''].filter(Boolean).join(' and ')} need the test rows: \`llm-ir run\` applies them; this trains the arm's first student\n`);
          const rationales = flags.rationales ? await armRationales(ctx, withOcr, flags.rationales) : [];
          const { text } = await trainArmStudent(ctx, arm, withOcr, { imagesDir: flags.images, rationales });
          const modelPath = join(runDir, 'student.json');
          await writeFileAtomic(modelPath, text);
          io.stdout(`${arm.name}: CPU student trained -> ${modelPath}\n`);
          return { model: modelPath };
        }
        const prompts = await gpuTrainingRows(ctx, arm, { rows: withOcr, imagesDir: flags.images });
        const prepared = await prepareTraining({ backend: flags.backend, arm, samples: prompts, imagesDir: flags.images, runDir });
        const env = Object.entries(prepared.env).map(([k, v]) => `${k}=${v}`).join(' ');
        io.stdout(`${arm.name}: ${prepared.rows} rows, ${prepared.gpus * prepared.nodes} GPU process(es) (${prepared.gpus} per node x ${prepared.nodes} node(s)), ${prepared.stepsPerEpoch} steps per epoch, checkpoints every half epoch\n`);
        io.stdout(`command: ${env} ${prepared.command.join(' ')}\n`);
        io.stdout(`reruns into ${runDir} re-attach to a job still running there, or resume from its last complete checkpoint\n`);
        if (flags.dryRun) return { dryRun: true, command: prepared.command, env: prepared.env };
        const result = await runTraining(prepared, executorFor(flags.executor, flags), {
          run,
          log: (line) => io.stderr(`${line}\n`),
          onProgress: terminalProgress({ enabled: io.progress }),
          slurm: slurmOptionsOf(flags),
        });
        io.stdout(`${result.status.state}: ${result.checkpoints.length} checkpoints (epochs ${result.checkpoints.map((c) => c.epoch).join(', ')})\n`);
        return { checkpoints: result.checkpoints };
      });
      if (run.info.errorCount > 0) {
        io.stderr(`${run.info.errorCount} row(s) or image(s) skipped: see ${join(runDir, 'errors.jsonl')}\n`);
        throw new CliExit(EXIT.partial);
      }
    });
  train
    .command('status')
    .description('state of a submitted run')
    .argument('<run-dir>', 'run folder')
    .action(async (dir: string) => {
      const h = await loadHandle(dir);
      const s = await executorForHandle(h).status(h);
      io.stdout(`${h.executor} job ${h.id}: ${s.state}${s.reason ? ` (${s.reason})` : ''}${s.exitCode !== undefined ? `, exit ${s.exitCode}` : ''}\n`);
    });
  train
    .command('logs')
    .description('last lines of a run\'s output')
    .argument('<run-dir>', 'run folder')
    .option('--tail <n>', 'lines', intFlag('--tail', { min: 1 }), '50')
    .action(async (dir: string, flags: { tail: string }) => {
      const h = await loadHandle(dir);
      io.stdout(`${await executorForHandle(h).logs(h, { tail: Number(flags.tail) })}\n`);
    });
  train
    .command('cancel')
    .description('stop a run: LLaMA-Factory is asked to save first (SIGABRT) and given --grace seconds; ms-swift stops at once (resume from its last checkpoint)')
    .option('--grace <seconds>', 'how long the trainer may take to save before it is stopped for good', intFlag('--grace', { min: 0 }), '120')
    .argument('<run-dir>', 'run folder')
    .action(async (dir: string, flags: { grace: string }) => {
      const h = await loadHandle(dir);
      const ex = executorForHandle(h);
      await ex.cancel(h, { graceMs: 1000 * wholeNumber('--grace', flags.grace)! });
      const s = await ex.status(h);
      io.stdout(`${h.executor} job ${h.id}: ${s.state}${s.reason ? ` (${s.reason})` : ''}\n`);
    });

  const predict = new Command('predict')
    .description('predict with a served model (vLLM, llamafactory-cli api, any OpenAI-compatible server): submission.csv and predictions.jsonl')
    .requiredOption('--endpoint <url>', 'base URL, e.g. http://127.0.0.1:8000/v1')
    .requiredOption('--model <name>', 'model or LoRA adapter name')
    .requiredOption('--in <file>', 'rows to predict (challenge JSON)')
    .requiredOption('--images <dir>', 'images folder')
    .requiredOption('--out <dir>', 'output folder')
    .addOption(new Option('--constraint <kind>', 'label constraint').choices(['structured_outputs', 'guided_choice', 'response_format', 'none']).default('structured_outputs'))
    .option('--logprobs', 'label probabilities from logprobs (letters, no constraint)', false)
    .option('--image-max-pixels <n>', 'resize images to the training pixel budget', intFlag('--image-max-pixels', { min: 1 }), '262144')
    .option('--concurrency <n>', 'requests at once', intFlag('--concurrency', { min: 1 }), '8')
    .action(async (flags: { endpoint: string; model: string; in: string; images: string; out: string; constraint: 'structured_outputs' | 'guided_choice' | 'response_format' | 'none'; logprobs: boolean; imageMaxPixels: string; concurrency: string }) => {
      const { samples, errors } = await loadOrReport(flags.in, io);
      const r = await predictWithEndpoint(samples, {
        baseURL: flags.endpoint,
        model: flags.model,
        imagesDir: flags.images,
        constraint: flags.constraint,
        logprobs: flags.logprobs,
        imageMaxPixels: Number(flags.imageMaxPixels),
        concurrency: Number(flags.concurrency),
        journal: join(flags.out, 'journal.jsonl'),
        onProgress: terminalProgress({ enabled: io.progress }),
      });
      await writePredictionsJsonl(join(flags.out, 'predictions.jsonl'), r.predictions);
      await writeSubmissionCsv(join(flags.out, 'submission.csv'), r.predictions.map((p) => ({ id: p.id, predict: p.label })));
      io.stdout(`${r.predictions.length} of ${samples.length} rows predicted; ${r.unmatched.length} answers matched no label; ${r.failed.length} requests failed\n`);
      for (const u of r.unmatched.slice(0, 10)) io.stderr(`  unmatched ${u.id}: ${u.reason}\n`);
      if (r.unmatched.length || r.failed.length || errors.length) throw new CliExit(EXIT.partial);
    });
  return [train, predict];
}
