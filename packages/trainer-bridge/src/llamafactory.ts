import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { LlmIrError, type Sample } from '@llm-ir/core';
import { countPlaceholders, renderInstruction } from '@llm-ir/core/challenge';
import { checkImage, writeFileAtomic } from '@llm-ir/core/io';
import { worldSize, type ArmConfig } from './arm.ts';

/** Keys LLaMA-Factory's HfArgumentParser accepts that the exporter writes (unknown keys are fatal there). */
export const LLAMAFACTORY_KEYS = new Set([
  'model_name_or_path', 'image_max_pixels', 'image_min_pixels', 'trust_remote_code',
  'stage', 'do_train', 'finetuning_type', 'lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target', 'freeze_vision_tower', 'freeze_multi_modal_projector', 'deepspeed',
  'dataset', 'eval_dataset', 'dataset_dir', 'media_dir', 'template', 'cutoff_len', 'max_samples', 'overwrite_cache', 'preprocessing_num_workers', 'dataloader_num_workers', 'mask_history', 'val_size',
  'output_dir', 'logging_steps', 'logging_nan_inf_filter', 'save_steps', 'plot_loss', 'overwrite_output_dir', 'save_only_model', 'report_to',
  'per_device_train_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'num_train_epochs', 'lr_scheduler_type', 'warmup_ratio', 'bf16', 'fp16', 'ddp_timeout', 'resume_from_checkpoint', 'seed',
  'per_device_eval_batch_size', 'eval_strategy', 'eval_steps', 'adapter_name_or_path', 'infer_backend', 'do_predict', 'predict_with_generate',
]);

/** A row of LLaMA-Factory's sharegpt format (OpenAI-style `messages` + `images`). */
export interface ShareGptRow {
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  images: string[];
}

/**
 * A sample as a sharegpt row: the whole challenge prompt as the user turn (with its `<image>`
 * placeholders; OCR and retrieved context are already in the sample when the arm wants them), the
 * label (or label + rationale for chain-of-thought distillation) as the assistant turn, and
 * absolute image paths in placeholder order.
 *
 * @throws {LlmIrError} `placeholder-mismatch` when the `<image>` count differs from the images.
 */
export function toShareGpt(sample: Sample, options: { imagesDir: string; rationale?: string }): ShareGptRow {
  const prompt = renderInstruction(sample);
  const images = sample.turns.flatMap((t) => t.images.map((i) => resolve(options.imagesDir, i.path)));
  if (countPlaceholders(prompt) !== images.length) {
    throw new LlmIrError({ code: 'placeholder-mismatch', message: `${countPlaceholders(prompt)} <image> tokens but ${images.length} images`, id: sample.id });
  }
  if (sample.label === undefined) throw new LlmIrError({ code: 'invalid-row', message: 'training rows need a label', id: sample.id });
  const answer = options.rationale ? `${options.rationale}\n分类标签：${sample.label}` : sample.label;
  return { messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: answer }], images };
}

/**
 * Optimiser steps per epoch as the HF Trainer counts them on `world` processes (GPUs x nodes): each
 * process's dataloader holds ceil(ceil(rows / batch) / world) batches (accelerate shards the batches
 * evenly), and an optimiser step takes `gradientAccumulation` of them, the last partial group counting
 * as one (transformers trainer.py `set_initial_training_values`).
 */
export function stepsPerEpoch(rows: number, arm: ArmConfig): number {
  const batches = Math.ceil(Math.ceil(rows / arm.train.batchSize) / worldSize(arm));
  return Math.max(1, Math.ceil(batches / arm.train.gradientAccumulation));
}

/**
 * The training YAML for an arm (only keys LLaMA-Factory accepts). `save_steps` lands checkpoints on
 * half epochs for the arm's world size; the output folder is never overwritten (a rerun resumes from
 * its last checkpoint: `resume_from_checkpoint` is set at submission by `runTraining`); NaN / inf
 * losses are logged as they are (`logging_nan_inf_filter: false`), so a diverged run is seen.
 */
export function llamaFactoryConfig(arm: ArmConfig, options: { dataset: string; datasetDir: string; outputDir: string; rows: number }): Record<string, unknown> {
  const perEpoch = stepsPerEpoch(options.rows, arm);
  const config: Record<string, unknown> = {
    model_name_or_path: arm.model,
    image_max_pixels: arm.train.imageMaxPixels,
    trust_remote_code: true,
    stage: 'sft',
    do_train: true,
    finetuning_type: 'lora',
    lora_rank: arm.lora.rank,
    lora_alpha: arm.lora.alpha,
    lora_dropout: arm.lora.dropout,
    lora_target: arm.lora.target,
    freeze_vision_tower: true,
    dataset: options.dataset,
    dataset_dir: options.datasetDir,
    template: 'qwen2_vl',
    cutoff_len: arm.train.cutoffLen,
    overwrite_cache: true,
    preprocessing_num_workers: 8,
    output_dir: options.outputDir,
    logging_steps: Math.max(1, Math.min(10, Math.floor(perEpoch / 4))),
    logging_nan_inf_filter: false,
    save_steps: Math.max(1, Math.round(perEpoch / 2)),
    plot_loss: true,
    save_only_model: false,
    report_to: 'none',
    per_device_train_batch_size: arm.train.batchSize,
    gradient_accumulation_steps: arm.train.gradientAccumulation,
    learning_rate: arm.train.learningRate,
    num_train_epochs: arm.train.epochs,
    lr_scheduler_type: 'cosine',
    warmup_ratio: 0.1,
    bf16: arm.train.bf16,
    ddp_timeout: 180_000_000,
    seed: arm.train.seed,
  };
  if (arm.train.deepspeed) config['deepspeed'] = arm.train.deepspeed;
  for (const k of Object.keys(config)) if (!LLAMAFACTORY_KEYS.has(k)) throw new LlmIrError({ code: 'config-invalid', message: `LLaMA-Factory would refuse key ${k}` });
  return config;
}

/** What {@link exportLlamaFactory} wrote and the command that trains it. */
export interface LlamaFactoryExport {
  /** The training YAML. */
  configPath: string;
  /** `data/` folder with `dataset_info.json` and the dataset file. */
  datasetDir: string;
  /** Where LLaMA-Factory writes checkpoints and logs. */
  outputDir: string;
  /** Rows written. */
  rows: number;
  /** Optimiser steps per epoch. */
  stepsPerEpoch: number;
  /** Command and arguments to run (no shell). */
  command: string[];
  /** Environment the command needs. */
  env: Record<string, string>;
  /** The YAML and the dataset as written (or, with `write: false`, as they would be). */
  contents: { config: string; data: string };
}

/**
 * Writes a LLaMA-Factory run into `runDir`: `data/<name>.json` (sharegpt rows), `data/dataset_info.json`,
 * `train.yaml`, and returns the command `llamafactory-cli train train.yaml` with its environment.
 * Every file is written atomically; images are referenced by absolute path after being checked.
 * With `write: false` nothing is written (what would be is returned in `contents`).
 */
export async function exportLlamaFactory(samples: readonly Sample[], arm: ArmConfig, options: { runDir: string; imagesDir: string; rationales?: ReadonlyMap<string, string>; name?: string; write?: boolean }): Promise<LlamaFactoryExport> {
  const runDir = resolve(options.runDir);
  if (/\s/.test(runDir)) {
    // LLaMA-Factory 0.9.x launcher.py rebuilds the torchrun command with `" ".join(sys.argv[1:])` and
    // `.split()`: a config path with white space falls apart into several arguments
    throw new LlmIrError({ code: 'config-invalid', message: `LLaMA-Factory cannot take a run folder with white space in its path (its launcher splits the config path there): ${JSON.stringify(runDir)}; choose another --out`, file: runDir });
  }
  const datasetDir = join(runDir, 'data');
  const outputDir = join(runDir, 'out');
  const name = options.name ?? 'llm_ir_train';
  const rows: ShareGptRow[] = [];
  for (const s of samples) {
    for (const img of s.turns.flatMap((t) => t.images)) await checkImage(options.imagesDir, img.path, { decode: false });
    const rationale = options.rationales?.get(s.id);
    rows.push(toShareGpt(s, { imagesDir: options.imagesDir, ...(rationale ? { rationale } : {}) }));
  }
  const data = JSON.stringify(rows, null, 1);
  const write = options.write ?? true;
  if (write) await writeFileAtomic(join(datasetDir, `${name}.json`), data);
  const info = {
    [name]: {
      file_name: `${name}.json`,
      formatting: 'sharegpt',
      columns: { messages: 'messages', images: 'images' },
      tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' },
    },
  };
  if (write) await writeFileAtomic(join(datasetDir, 'dataset_info.json'), `${JSON.stringify(info, null, 2)}\n`);
  const config = llamaFactoryConfig(arm, { dataset: name, datasetDir, outputDir, rows: rows.length });
  const configPath = join(runDir, 'train.yaml');
  const yaml = stringify(config);
  if (write) await writeFileAtomic(configPath, yaml);
  // LLAMABOARD_ENABLED: LogCallback saves and stops on SIGABRT (callbacks.py `_set_abort`). The GPU count
  // is pinned (launcher.py starts torchrun on every visible GPU when more than one is visible, with
  // NPROC_PER_NODE defaulting to the device count): CUDA_VISIBLE_DEVICES by the executor, the rest here.
  const env: Record<string, string> = { LLAMABOARD_ENABLED: '1', LLAMABOARD_WORKDIR: outputDir, NPROC_PER_NODE: String(arm.train.gpus), NNODES: String(arm.train.nodes ?? 1) };
  if (worldSize(arm) > 1 || arm.train.deepspeed) env['FORCE_TORCHRUN'] = '1';
  return { configPath, datasetDir, outputDir, rows: rows.length, stepsPerEpoch: stepsPerEpoch(rows.length, arm), command: ['llamafactory-cli', 'train', configPath], env, contents: { config: yaml, data } };
}
