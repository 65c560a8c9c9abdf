// The official rows the trainer-bridge tests train on: read in place from ../shared/datasets.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSamples, type Sample } from '@llm-ir/core';

/** The shared challenge data beside the checkout, and its images. */
const MIRE = fileURLToPath(new URL('../../../../../shared/datasets/www2025-mire/', import.meta.url));
export const IMAGES = join(MIRE, 'images');

/** Every official row, and a small training set of 10 scene and 6 intent rows (2 optimiser steps per epoch at batch 1 x 8). */
export async function officialRows(): Promise<{ samples: Sample[]; rows: Sample[] }> {
  const samples = (await loadSamples(join(MIRE, 'train.json'))).samples;
  return { samples, rows: [...samples.filter((s) => s.task === 'scene').slice(0, 10), ...samples.filter((s) => s.task === 'intent').slice(0, 6)] };
}
