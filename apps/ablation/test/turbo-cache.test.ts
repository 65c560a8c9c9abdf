// The ablation pipeline caches per arm: turbo's task hash is its cache key, so an arm whose hash does
// not change is a cache hit. These tests copy the workspace (sources and configs, not build outputs or
// results) to a temporary folder, ask turbo for its plan (`--dry=json`: the hashes it would look up),
// change one arm's file and ask again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneWorkspace, root } from './workspace-clone.ts';

const dataEnv = { LLM_IR_TRAIN: '/data/train.json', LLM_IR_TRAIN_IMAGES: '/data/images', LLM_IR_TEST: '/data/test.json', LLM_IR_TEST_IMAGES: '/data/images', LLM_IR_SEED: '0', LLM_IR_DATA_HASH: 'abc' };
let work: string;

/** Task id -> hash of `turbo run ablation` as turbo plans it in the copy. */
function plan(env: Record<string, string> = dataEnv): Map<string, string> {
  const out = execFileSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'ablation', '--filter=@llm-ir-app/ablation', '--dry=json'], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', HOME: work, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const tasks = (JSON.parse(out) as { tasks: { taskId: string; hash: string }[] }).tasks;
  return new Map(tasks.map((t) => [t.taskId, t.hash]));
}

function changed(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
}

const arm = (name: string) => `@llm-ir-app/ablation#arm:${name}`;
const ARMS = ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr', 'augment', 'rag', 'distill', 'full'];

beforeAll(() => {
  work = cloneWorkspace(mkdtempSync(join(tmpdir(), 'llm-ir-turbo-')));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('turbo ablation pipeline', () => {
  it('plans one task per arm, the grid, and the report that depends on all of them', () => {
    const p = plan();
    for (const a of ARMS) expect(p.has(arm(a)), a).toBe(true);
    expect(p.has('@llm-ir-app/ablation#grid')).toBe(true);
    expect(p.has('@llm-ir-app/ablation#ablation')).toBe(true);
    // the same workspace and environment give the same keys: an unchanged arm is a cache hit
    expect(changed(p, plan())).toEqual([]);
  });

  it('changing one arm file re-runs that arm and the report only', () => {
    const before = plan();
    const file = join(work, 'apps', 'ablation', 'arms', 'rag.json');
    const original = readFileSync(file, 'utf8');
    const rag = JSON.parse(original) as { rag: { k: number } };
    rag.rag.k = 5;
    writeFileSync(file, JSON.stringify(rag));
    try {
      expect(changed(before, plan())).toEqual([arm('rag'), '@llm-ir-app/ablation#ablation'].sort());
    } finally {
      writeFileSync(file, original);
    }
    expect(changed(before, plan())).toEqual([]);
  });

  it('other data (a new fingerprint or seed) re-runs every arm, but not the package builds', () => {
    const before = plan();
    const after = plan({ ...dataEnv, LLM_IR_DATA_HASH: 'def' });
    const diff = changed(before, after);
    for (const a of ARMS) expect(diff).toContain(arm(a));
    expect(diff).toContain('@llm-ir-app/ablation#grid');
    expect(diff.filter((t) => t.endsWith('#build'))).toEqual([]);
    // the seed is not the data: the data check keeps its key
    expect(changed(before, plan({ ...dataEnv, LLM_IR_SEED: '1' }))).toEqual(diff.filter((t) => !t.endsWith('#check-data')));
  });

  it('the same data at other paths (another clone, another machine) gives the same keys: arms are shared through a remote cache', () => {
    const elsewhere = { ...dataEnv, LLM_IR_TRAIN: '/lab/b/train.json', LLM_IR_TRAIN_IMAGES: '/lab/b/images', LLM_IR_TEST: '/lab/b/test.json', LLM_IR_TEST_IMAGES: '/lab/b/images', LLM_IR_CACHE: '/lab/b/cache' };
    expect(changed(plan(), plan(elsewhere))).toEqual([]);
  });

  it('a change to the pipeline code re-runs every arm', () => {
    const before = plan();
    const file = join(work, 'apps', 'cli', 'src', 'pipeline.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\n// changed\n`);
    try {
      const diff = changed(before, plan());
      expect(diff).toContain('@llm-ir-app/cli#build');
      for (const a of ARMS) expect(diff).toContain(arm(a));
    } finally {
      writeFileSync(file, original);
    }
  });
});
