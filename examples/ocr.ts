// @llm-ir/ocr: read a Taobao screenshot with PaddleOCR, filter the lines, write them into a prompt.
import { loadSamples } from '@llm-ir/core';
import { writeChallengeRow } from '@llm-ir/core/challenge';
import { applyOcr, createOcrPool, filterOcr, ocrDataset } from '@llm-ir/ocr';

const images = '../shared/datasets/www2025-mire/images';
const pool = await createOcrPool({ engine: 'paddle', workers: 1 });
const r = await pool.recognize(`${images}/3fc85b30-3ab3-4cad-a2de-324e2ae6a078-1279-0.jpg`);
console.log(`${r.lines.length} lines in ${Math.round(r.ms)} ms:`, filterOcr(r.lines).lines.map((l) => l.text).join(' | '));
const { samples } = await loadSamples('../shared/datasets/www2025-mire/train.json');
const { samples: withOcr } = await ocrDataset(samples.slice(0, 2), { pool, imagesDir: images });
const prompt = writeChallengeRow(applyOcr(withOcr, { at: 'both', split: 'test', format: 'regions' })[0]!).instruction;
console.log(prompt.slice(0, 300));
await pool.close();
