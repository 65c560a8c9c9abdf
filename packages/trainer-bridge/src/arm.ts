import { ConfigValidationError } from '@llm-ir/core';

/** One arm of the experiment: which stages are on and the training hyperparameters. */
export interface ArmConfig {
  /** Arm name (`baseline`, `ocr-train-infer`, ...). */
  name: string;
  /** OCR text in prompts at training and/or inference. */
  ocr: { train: boolean; infer: boolean; format?: 'plain' | 'regions' };
  /** Augmentation of the training rows (factor of rows; 1 = none). */
  augment?: { factor: number };
  /** Retrieved few-shot context in prompts. */
  rag?: { k: number };
  /** Teacher soft labels (CPU backend) or rationales (chain-of-thought export). */
  distill?: { soft?: string; rationales?: string };
  /** Base model (hub id or local path). @default 'Qwen/Qwen2-VL-7B-Instruct' */
  model: string;
  /** LoRA rank and alpha. */
  lora: { rank: number; alpha: number; dropout: number; target: string };
  /** Training settings. */
  train: {
    epochs: number;
    learningRate: number;
    batchSize: number;
    gradientAccumulation: number;
    cutoffLen: number;
    imageMaxPixels: number;
    bf16: boolean;
    deepspeed?: string;
    /**
     * GPUs per node: the one GPU count of a run. It pins `CUDA_VISIBLE_DEVICES` where the job runs,
     * sets the trainers' `NPROC_PER_NODE`, the SLURM `--gres`, and the world size the half-epoch
     * `save_steps` are computed for. @default 1
     */
    gpus: number;
    /** Nodes (SLURM only; world size = gpus x nodes). @default 1 */
    nodes?: number;
    seed: number;
  };
}

/** LoRA ranks vLLM can be told to serve (`--max-lora-rank`; vllm/config/lora.py `MaxLoRARanks`). */
export const VLLM_MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

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

const BASE: Omit<ArmConfig, 'name' | 'ocr'> = {
  model: 'Qwen/Qwen2-VL-7B-Instruct',
  lora: { rank: 8, alpha: 16, dropout: 0, target: 'all' },
  train: { epochs: 7, learningRate: 1e-4, batchSize: 1, gradientAccumulation: 8, cutoffLen: 4096, imageMaxPixels: 262_144, bf16: true, gpus: 1, seed: 42 },
};

/**
 * The LLM-IR paper's arms (Table 1): the baseline, OCR text at training only, OCR at training and
 * inference, and LoRA rank 16 / alpha 32 with OCR at training and inference (the best, 84.17).
 * Checkpoints are evaluated every half epoch up to 7 epochs, as in the paper.
 */
export const PAPER_ARMS: Record<'baseline' | 'ocr-train' | 'ocr-train-infer' | 'lora-r16-a32-ocr', ArmConfig> = {
  baseline: { ...BASE, name: 'baseline', ocr: { train: false, infer: false } },
  'ocr-train': { ...BASE, name: 'ocr-train', ocr: { train: true, infer: false } },
  'ocr-train-infer': { ...BASE, name: 'ocr-train-infer', ocr: { train: true, infer: true } },
  'lora-r16-a32-ocr': { ...BASE, name: 'lora-r16-a32-ocr', ocr: { train: true, infer: true }, lora: { ...BASE.lora, rank: 16, alpha: 32 } },
};

/** Fills defaults into a partial arm (from a config file) and checks it. */
export function resolveArm(input: Partial<ArmConfig> & { name: string; preset?: string }): ArmConfig {
  const preset = input.preset ? PAPER_ARMS[input.preset as keyof typeof PAPER_ARMS] : undefined;
  if (input.preset && !preset) throw new ConfigValidationError({ issues: [{ path: 'preset', message: `unknown preset ${input.preset} (${Object.keys(PAPER_ARMS).join(', ')})` }] });
  const base = preset ?? { ...BASE, name: input.name, ocr: { train: false, infer: false } };
  const arm: ArmConfig = {
    ...base,
    ...input,
    ocr: { ...base.ocr, ...input.ocr },
    lora: { ...base.lora, ...input.lora },
    train: { ...base.train, ...input.train },
  };
  const issues: Array<{ path: string; message: string }> = [];
  const maxRank = VLLM_MAX_LORA_RANKS[VLLM_MAX_LORA_RANKS.length - 1]!;
  if (!Number.isInteger(arm.lora.rank) || arm.lora.rank < 1 || arm.lora.rank > maxRank) issues.push({ path: 'lora.rank', message: `must be an integer from 1 to ${maxRank} (the largest rank vLLM serves), got ${arm.lora.rank}` });
  if (!Number.isInteger(arm.train.gpus) || arm.train.gpus < 1) issues.push({ path: 'train.gpus', message: `must be a whole number of GPUs >= 1, got ${arm.train.gpus}` });
  if (arm.train.nodes !== undefined && (!Number.isInteger(arm.train.nodes) || arm.train.nodes < 1)) issues.push({ path: 'train.nodes', message: `must be a whole number of nodes >= 1, got ${arm.train.nodes}` });
  if (!(arm.train.epochs > 0)) issues.push({ path: 'train.epochs', message: 'must be > 0' });
  if (!(arm.train.learningRate > 0)) issues.push({ path: 'train.learningRate', message: 'must be > 0' });
  if (arm.ocr.infer && !arm.ocr.train) issues.push({ path: 'ocr', message: 'OCR at inference only is not one of the arms (train with OCR too)' });
  if (issues.length) throw new ConfigValidationError({ issues, what: `arm ${arm.name}` });
  return arm;
}

/** An arm by preset name or a config object. */
export function armFrom(spec: string | (Partial<ArmConfig> & { name: string; preset?: string })): ArmConfig {
  if (typeof spec === 'string') {
    const preset = PAPER_ARMS[spec as keyof typeof PAPER_ARMS];
    if (!preset) throw new ConfigValidationError({ issues: [{ path: 'arm', message: `unknown arm ${spec} (${Object.keys(PAPER_ARMS).join(', ')}, or a config file)` }] });
    return preset;
  }
  return resolveArm(spec);
}
