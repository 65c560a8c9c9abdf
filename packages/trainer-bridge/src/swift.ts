import { join, resolve } from 'node:path';
import { labelSetOf, LlmIrError, type Sample } from '@llm-ir/core';
import { checkImage, toJsonl, writeFileAtomic } from '@llm-ir/core/io';
import type { ArmConfig } from './arm.ts';
import { stepsPerEpoch, toShareGpt } from './llamafactory.ts';

/** Options of {@link exportSwift}. */
export interface SwiftExportOptions {
  /** Run folder. */
  runDir: string;
  /** Images folder. */
  imagesDir: string;
  /** Train a sequence-classification head (`--task_type seq_cls`, label index targets) instead of generating the label. @default false */
  seqCls?: boolean;
  /** ms-swift 4.1+ names the tuner `--tuner_type`; 3.x / 4.0 use `--train_type`. @default '4.1' */
  swiftVersion?: '4.1' | '4.0' | '3';
  /** Write the dataset (false: only compute it, e.g. while a job of this folder still runs). @default true */
  write?: boolean;
}

/**
 * Writes an ms-swift run: `train.jsonl` (`messages` + absolute `images`; with `seqCls` a `label`
 * index instead of the assistant turn) and the `swift sft` arguments (current names, `--use_hf true`).
 */
export async function exportSwift(samples: readonly Sample[], arm: ArmConfig, options: SwiftExportOptions): Promise<{ dataset: string; outputDir: string; command: string[]; env: Record<string, string>; rows: number; stepsPerEpoch: number; contents: { data: string } }> {
  const runDir = resolve(options.runDir);
  const dataset = join(runDir, 'train.jsonl');
  const outputDir = join(runDir, 'out');
  const tasks = [...new Set(samples.map((s) => s.task))];
  if (options.seqCls && tasks.length > 1) {
    // ms-swift 4.x seq_cls: one classification head of --num_labels outputs per run, the row's `label`
    // an index into it; scene and intent indices would share outputs. One label space per run.
    throw new LlmIrError({ code: 'config-invalid', message: `seq_cls trains one label space per run, but the rows hold ${tasks.join(' and ')} rows: export each task as its own run (filter the samples by task)` });
  }
  const rows = [];
  for (const s of samples) {
    for (const img of s.turns.flatMap((t) => t.images)) await checkImage(options.imagesDir, img.path, { decode: false });
    const r = toShareGpt(s, { imagesDir: options.imagesDir });
    rows.push(options.seqCls ? { messages: r.messages.filter((m) => m.role !== 'assistant'), images: r.images, label: labelSetOf(s.task).indexOf(s.label!) } : r);
  }
  const data = toJsonl(rows);
  if (options.write ?? true) await writeFileAtomic(dataset, data);
  const perEpoch = stepsPerEpoch(rows.length, arm);
  const tuner = (options.swiftVersion ?? '4.1') === '4.1' ? '--tuner_type' : '--train_type';
  const command = [
    'swift', 'sft',
    '--model', arm.model, '--use_hf', 'true',
    tuner, 'lora',
    '--dataset', dataset,
    '--torch_dtype', arm.train.bf16 ? 'bfloat16' : 'float16',
    '--num_train_epochs', String(arm.train.epochs),
    '--per_device_train_batch_size', String(arm.train.batchSize),
    '--gradient_accumulation_steps', String(arm.train.gradientAccumulation),
    '--learning_rate', String(arm.train.learningRate),
    '--lora_rank', String(arm.lora.rank), '--lora_alpha', String(arm.lora.alpha), '--lora_dropout', String(arm.lora.dropout), '--target_modules', 'all-linear',
    '--freeze_vit', 'true', '--freeze_aligner', 'true',
    '--max_length', String(arm.train.cutoffLen),
    '--save_steps', String(Math.max(1, Math.round(perEpoch / 2))), '--logging_steps', String(Math.max(1, Math.min(10, Math.floor(perEpoch / 4)))),
    // no --create_checkpoint_symlink: without a validation set it links None at the end of training
    '--output_dir', outputDir, '--add_version', 'false', '--logging_nan_inf_filter', 'false', '--report_to', 'tensorboard',
    '--seed', String(arm.train.seed),
    ...(options.seqCls ? ['--task_type', 'seq_cls', '--num_labels', String(labelSetOf(tasks[0] ?? 'intent').names.length)] : []),
    ...(arm.train.deepspeed ? ['--deepspeed', arm.train.deepspeed] : []),
  ];
  // swift/cli/main.py: torchrun only when NPROC_PER_NODE or NNODES is set, else one process that
  // spreads the model over every visible GPU; the executor pins CUDA_VISIBLE_DEVICES to the arm's GPUs
  const env: Record<string, string> = { MAX_PIXELS: String(arm.train.imageMaxPixels), NPROC_PER_NODE: String(arm.train.gpus), NNODES: String(arm.train.nodes ?? 1) };
  return { dataset, outputDir, command, env, rows: rows.length, stepsPerEpoch: perEpoch, contents: { data } };
}
