import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigValidationError, LlmIrError, TASKS, type Task } from '@llm-ir/core';

/** LoRA ranks vLLM can be told to serve (`--max-lora-rank`; vllm/config/lora.py `MaxLoRARanks`). */
export const VLLM_MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** The paper's GPU presets (Table 1). */
export const PRESET_NAMES = ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr'] as const;

/** A preset name of {@link PAPER_ARMS}. */
export type PresetName = (typeof PRESET_NAMES)[number];

const positiveInt = () => z.number().int().min(1);

const ocrSchema = z.strictObject({
  train: z.boolean().describe('OCR text of the images in the training rows'),
  infer: z.boolean().describe('OCR text of the images at prediction (needs train: a model is not shown text it never saw)'),
  tasks: z.array(z.enum(['scene', 'intent'] as const satisfies readonly Task[])).min(1).optional().describe('only the rows of these tasks get OCR (default: both)'),
  format: z.enum(['plain', 'regions']).optional().describe('OCR in prompts as plain lines or lines with normalised boxes (ChatSpot); GPU backends'),
});

const loraSchema = z.strictObject({
  rank: z.number().int().min(1).max(VLLM_MAX_LORA_RANKS.at(-1)!).describe('LoRA rank (at most the largest rank vLLM serves)'),
  alpha: z.number().positive(),
  dropout: z.number().min(0).max(1),
  target: z.string().min(1).describe('LLaMA-Factory lora_target (e.g. all)'),
});

const trainSchema = z.strictObject({
  epochs: z.number().positive(),
  learningRate: z.number().positive(),
  batchSize: positiveInt(),
  gradientAccumulation: positiveInt(),
  cutoffLen: positiveInt(),
  imageMaxPixels: positiveInt(),
  bf16: z.boolean(),
  deepspeed: z.string().optional(),
  gpus: positiveInt().describe('GPUs per node: the one GPU count of a run (CUDA_VISIBLE_DEVICES, NPROC_PER_NODE, SLURM --gres, save_steps)'),
  nodes: positiveInt().optional().describe('nodes (SLURM only; world size = gpus x nodes)'),
  seed: z.number().int(),
});

/**
 * Schema of an arm file (`apps/ablation/arms/*.json`, or any JSON / YAML file): one model for every
 * backend. The switches (`ocr`, `augment`, `rag`, `distill`) say which stages run; `student` tunes the
 * CPU backend; `preset`, `model`, `lora`, `train` set the LoRA training of the GPU backends (a preset's
 * values, then the file's). Unknown keys are errors, so a typo never silently turns a stage off.
 */
export const armFileSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().min(1).describe('arm name, shown in tables'),
  description: z.string().optional(),
  preset: z.enum(PRESET_NAMES).optional().describe("the paper's arm whose model, LoRA and training settings (and OCR switches) this one starts from"),
  ocr: ocrSchema.optional(),
  augment: z.strictObject({ factor: z.number().min(1).max(10).describe('rows per training row after augmentation (2 = one variant each)') }).optional(),
  rag: z.strictObject({
    k: positiveInt().max(50).default(10).describe('neighbours retrieved'),
    weight: z.number().min(0).max(1).default(0.3).describe("share of the kNN probabilities in the blend with the model's"),
  }).optional().describe('retrieval over the labelled training rows, blended into the predictions'),
  distill: z.strictObject({
    alpha: z.number().min(0).max(1).default(0.5).describe('weight of gold cross-entropy vs the teacher KL term'),
    temperature: z.number().positive().default(2),
    knnWeight: z.number().min(0).max(1).default(0.3).describe('share of the kNN in the teacher (an ensemble of the first student and kNN)'),
  }).optional().describe('self-distillation: the teacher labels the unlabelled test rows and a second student learns from them (CPU backend)'),
  student: z.strictObject({ C: z.number().positive().optional(), maxIter: positiveInt().optional() }).optional().describe('CPU student settings'),
  model: z.string().min(1).optional().describe('base model, hub id or local path (GPU backends)'),
  lora: loraSchema.partial().optional(),
  train: trainSchema.partial().optional(),
});

/** An arm file as written (everything but `name` optional). */
export type ArmFile = z.input<typeof armFileSchema>;

type Parsed = z.output<typeof armFileSchema>;

/** One arm of the experiment, resolved: every stage switch and every training setting. */
export type ArmConfig = Omit<Parsed, '$schema' | 'ocr' | 'model' | 'lora' | 'train'> & {
  /** OCR text in prompts / features at training and/or inference. */
  ocr: z.output<typeof ocrSchema>;
  /** Base model (hub id or local path). @default 'Qwen/Qwen2-VL-7B-Instruct' */
  model: string;
  /** LoRA rank, alpha, dropout, target modules. */
  lora: z.output<typeof loraSchema>;
  /** LoRA training settings (GPU backends). */
  train: z.output<typeof trainSchema>;
};

/** The smallest `--max-lora-rank` vLLM accepts that serves adapters of `rank`. */
export function maxLoraRankFor(rank: number): number {
  const r = VLLM_MAX_LORA_RANKS.find((x) => x >= rank);
  if (r === undefined) throw new ConfigValidationError({ issues: [{ path: 'lora.rank', message: `vLLM serves LoRA ranks up to ${VLLM_MAX_LORA_RANKS.at(-1)}, got ${rank}` }] });
  return r;
}

/** Processes the trainer starts: GPUs per node x nodes. */
export function worldSize(arm: ArmConfig): number {
  return arm.train.gpus * (arm.train.nodes ?? 1);
}

const BASE = {
  model: 'Qwen/Qwen2-VL-7B-Instruct',
  lora: { rank: 8, alpha: 16, dropout: 0, target: 'all' },
  train: { epochs: 7, learningRate: 1e-4, batchSize: 1, gradientAccumulation: 8, cutoffLen: 4096, imageMaxPixels: 262_144, bf16: true, gpus: 1, seed: 42 },
} satisfies Pick<ArmConfig, 'model' | 'lora' | 'train'>;

/**
 * The LLM-IR paper's arms (Table 1): the baseline, OCR text at training only, OCR at training and
 * inference, and LoRA rank 16 / alpha 32 with OCR at training and inference (the best, 84.17).
 * Checkpoints are evaluated every half epoch up to 7 epochs, as in the paper.
 */
export const PAPER_ARMS: Readonly<Record<PresetName, ArmConfig>> = {
  baseline: { ...BASE, name: 'baseline', ocr: { train: false, infer: false } },
  'ocr-train': { ...BASE, name: 'ocr-train', ocr: { train: true, infer: false } },
  'ocr-train-infer': { ...BASE, name: 'ocr-train-infer', ocr: { train: true, infer: true } },
  'lora-r16-a32-ocr': { ...BASE, name: 'lora-r16-a32-ocr', ocr: { train: true, infer: true }, lora: { ...BASE.lora, rank: 16, alpha: 32 } },
};

/**
 * Checks an arm (a parsed file, or an arm with some settings changed) and fills the rest from its
 * preset, or from the paper's baseline settings.
 *
 * @throws {ConfigValidationError} naming `source` and every bad field.
 */
export function parseArm(value: unknown, source = 'arm'): ArmConfig {
  const r = armFileSchema.safeParse(value);
  if (!r.success) throw new ConfigValidationError({ what: source, issues: r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  const { $schema: _s, ...file } = r.data;
  const base: Pick<ArmConfig, 'model' | 'lora' | 'train' | 'ocr'> = file.preset ? PAPER_ARMS[file.preset] : { ...BASE, ocr: { train: false, infer: false } };
  const arm: ArmConfig = { ...file, ocr: file.ocr ?? base.ocr, model: file.model ?? base.model, lora: { ...base.lora, ...defined(file.lora) }, train: { ...base.train, ...defined(file.train) } };
  if (arm.ocr.infer && !arm.ocr.train) throw new ConfigValidationError({ what: source, issues: [{ path: 'ocr', message: 'OCR at inference only is not one of the arms (train with OCR too)' }] });
  return arm;
}

/** The entries of an object whose value is not undefined (so they never override a default with undefined). */
function defined<T extends object>(o: T | undefined): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}

/** The on/off switches of an arm, the factors of component effects. */
export function armFactors(arm: Pick<ArmConfig, 'ocr' | 'augment' | 'rag' | 'distill'>): Record<'ocrTrain' | 'ocrInfer' | 'augment' | 'rag' | 'distill', boolean> {
  return { ocrTrain: arm.ocr.train, ocrInfer: arm.ocr.infer, augment: (arm.augment?.factor ?? 1) > 1, rag: arm.rag !== undefined, distill: arm.distill !== undefined };
}

/** The tasks whose rows get OCR in an arm. */
export function ocrTasks(arm: Pick<ArmConfig, 'ocr'>): readonly Task[] {
  return arm.ocr.tasks ?? TASKS;
}

/**
 * The one arm loader of every command, turbo task and script: a preset name (`baseline`,
 * `lora-r16-a32-ocr`, ...), a JSON or YAML file, or the name of a file in `armsDir` (`full`,
 * `+augment` for `augment.json`).
 *
 * @throws {LlmIrError} `config-invalid` for an unknown name or an invalid file (naming it), `io` when
 * the file cannot be read.
 */
export async function loadArm(spec: string, options: { armsDir?: string } = {}): Promise<ArmConfig> {
  const isFile = /\.(json|ya?ml)$/i.test(spec);
  const inDir = !isFile && options.armsDir ? join(options.armsDir, `${spec.replace(/^\+/, '')}.json`) : undefined;
  const path = isFile ? spec : inDir && existsSync(inDir) ? inDir : undefined;
  if (!path) {
    if ((PRESET_NAMES as readonly string[]).includes(spec)) return PAPER_ARMS[spec as PresetName];
    throw new LlmIrError({ code: 'config-invalid', message: `no arm ${JSON.stringify(spec)}: not a preset (${PRESET_NAMES.join(', ')})${inDir ? ` and no ${inDir}` : ''}, nor a .json / .yaml file` });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LlmIrError({ code: 'io', message: `cannot read the arm ${path}: ${(cause as Error).message}`, file: path, cause });
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new LlmIrError({ code: 'config-invalid', message: `${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(cause as Error).message}`, file: path, cause });
  }
  return parseArm(value, path);
}

/** JSON Schema of an arm file, for editors (`"$schema": "./arm.schema.json"` in an arm file). */
export function armJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(armFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}
