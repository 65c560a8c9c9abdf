// @llm-ir/trainer-bridge: write a LLaMA-Factory run of the paper's best arm and print the command.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSamples } from '@llm-ir/core';
import { PAPER_ARMS, prepareTraining, vllmServeCommand } from '@llm-ir/trainer-bridge';
import { maxImagesPerRow } from '@llm-ir/trainer-bridge/serve';

const { samples } = await loadSamples('../shared/datasets/www2025-mire/train.json');
const runDir = mkdtempSync(join(tmpdir(), 'lf-'));
const arm = PAPER_ARMS['lora-r16-a32-ocr'];
const p = await prepareTraining({ backend: 'llamafactory', arm, samples, imagesDir: '../shared/datasets/www2025-mire/images', runDir });
console.log(`${p.rows} rows, ${p.gpus} GPU(s), ${p.stepsPerEpoch} steps per epoch`);
console.log(Object.entries(p.env).map(([k, v]) => `${k}=${v}`).join(' '), p.command.join(' '));
console.log(readFileSync(join(runDir, 'train.yaml'), 'utf8'));
console.log(vllmServeCommand({ model: arm.model, loras: [{ name: 'r16', path: p.outputDir }], loraRank: arm.lora.rank, maxImages: maxImagesPerRow(samples) }).join(' '));
