import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { installFakeTools } from '@llm-ir/trainer-bridge/testing';
import { INTENT_LABELS, SCENE_LABELS } from '@llm-ir/core';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { afterEach, describe, expect, it, vi } from 'vitest';

// tests that put the fake tools first on PATH give it back
afterEach(() => {
  vi.unstubAllEnvs();
});

import { armJsonSchema } from '@llm-ir/trainer-bridge/arm';
import { gridArms } from './commands/run.ts';
import { ARMS_DIR, cliArm as loadArm } from './pipeline.ts';

const IMAGES = join(MIRE, 'images');

describe('llm-ir run', () => {
  it('runs an arm end to end, and test labels change no prediction (they are used for scoring only)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-run-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8'));
    const intent = rows.filter((r: { instruction: string }) => !r.instruction.startsWith('Picture'));
    const train = [...rows.filter((r: { instruction: string }) => r.instruction.startsWith('Picture')).slice(0, 60), ...intent.slice(0, 150)];
    const test = intent.slice(150, 190);
    await writeFile(join(dir, 'train.json'), JSON.stringify(train));
    await writeFile(join(dir, 'test.json'), JSON.stringify(test));
    await writeFile(join(dir, 'test-blank.json'), JSON.stringify(test.map((r: Record<string, unknown>) => ({ ...r, output: '' }))));
    const base = ['run', '--arm', 'distill', '--train', join(dir, 'train.json'), '--train-images', IMAGES, '--test-images', IMAGES, '--cache', join(dir, 'cache')];
    const labelled = await cli(...base, '--test', join(dir, 'test.json'), '--out', join(dir, 'a'));
    expect(labelled.code, labelled.stderr).toBe(0);
    expect(labelled.stdout).toMatch(/\+distill\s+average \d+\.\d\d/);
    const blank = await cli(...base, '--test', join(dir, 'test-blank.json'), '--out', join(dir, 'b'));
    expect(blank.code, blank.stderr).toBe(0);
    expect(await readFile(join(dir, 'b', 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'a', 'predictions.jsonl'), 'utf8'));
    const csv = (await readFile(join(dir, 'b', 'submission.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,predict');
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(test.map((r: { id: string }) => r.id));
    const summary = JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ arm: '+distill', factors: { ocrTrain: true, distill: true } });
    expect(await readFile(join(dir, 'a', 'report.html'), 'utf8')).toContain('<svg');
    const record = JSON.parse(await readFile(join(dir, 'a', 'run.json'), 'utf8'));
    expect(record.status).toBe('succeeded');
    // the time of every stage, in the order they ran, in run.json and as the table on stderr
    expect(record.notes.stages.map((t: { stage: string }) => t.stage)).toEqual(['load', 'ocr', 'student', 'predict', 'knn', 'distill', 'write', 'score']);
    expect(record.notes.stages.every((t: { seconds: number }) => t.seconds >= 0)).toBe(true);
    expect(labelled.stderr).toMatch(/\+distill: time per stage\n\s+stage\s+load\s+ocr\s+student\s+predict\s+knn\s+distill\s+write\s+score\s+total\n\s+seconds(\s+\d+\.\d){9}\n/);
    // both students of the arm were trained once and kept in the artifact cache; the blank run loaded them
    expect((await readdir(join(dir, 'cache', 'student'), { recursive: true })).filter((f) => /^[0-9a-f]{64}$/.test(f.split('/').pop()!))).toHaveLength(2);
  }, 240_000);

  it('distils from test rows whose images live in their own folder exactly as from a shared folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-run-dirs-'));
    // scene rows: the task whose student uses image features
    const rows = (JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')) as Array<{ id: string; instruction: string; image: string[] }>).filter((r) => r.instruction.startsWith('Picture'));
    const train = rows.slice(0, 120);
    const test = rows.slice(120, 160);
    await writeFile(join(dir, 'train.json'), JSON.stringify(train));
    await writeFile(join(dir, 'test.json'), JSON.stringify(test));
    for (const [split, part] of [['train', train], ['test', test]] as const) {
      await mkdir(join(dir, `${split}-images`));
      for (const name of new Set(part.flatMap((r) => r.image))) await copyFile(join(IMAGES, name), join(dir, `${split}-images`, name));
    }
    await writeFile(join(dir, 'arm.json'), JSON.stringify({ name: 'distill-no-ocr', ocr: { train: false, infer: false }, distill: { alpha: 0.5, temperature: 2 } }));
    const base = ['run', '--arm', join(dir, 'arm.json'), '--train', join(dir, 'train.json'), '--test', join(dir, 'test.json')];
    const shared = await cli(...base, '--train-images', IMAGES, '--test-images', IMAGES, '--out', join(dir, 'shared'), '--cache', join(dir, 'cache-a'));
    expect(shared.code, shared.stderr).toBe(0);
    const apart = await cli(...base, '--train-images', join(dir, 'train-images'), '--test-images', join(dir, 'test-images'), '--out', join(dir, 'apart'), '--cache', join(dir, 'cache-b'));
    expect(apart.code, apart.stderr).toBe(0);
    expect(await readFile(join(dir, 'apart', 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'shared', 'predictions.jsonl'), 'utf8'));
  }, 120_000);

  it('limits OCR to the tasks an arm names (full: scene rows only)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-run-ocrtasks-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')) as Array<{ instruction: string; image: string[] }>;
    const scene = rows.filter((r) => r.instruction.startsWith('Picture'));
    const intent = rows.filter((r) => !r.instruction.startsWith('Picture'));
    await writeFile(join(dir, 'train.json'), JSON.stringify([...scene.slice(0, 12), ...intent.slice(0, 12)]));
    await writeFile(join(dir, 'test.json'), JSON.stringify([...scene.slice(12, 16), ...intent.slice(12, 16)]));
    await writeFile(join(dir, 'arm.json'), JSON.stringify({ name: 'scene-ocr', ocr: { train: true, infer: true, tasks: ['scene'] } }));
    const r = await cli('run', '--arm', join(dir, 'arm.json'), '--train', join(dir, 'train.json'), '--train-images', IMAGES, '--test', join(dir, 'test.json'), '--test-images', IMAGES, '--out', join(dir, 'out'), '--cache', join(dir, 'cache'));
    expect(r.code, r.stderr).toBe(0);
    const ocred = (await readdir(join(dir, 'cache', 'ocr'), { recursive: true })).filter((f) => /[0-9a-f]{64}$/.test(f));
    expect(ocred).toHaveLength(new Set(scene.slice(0, 16).flatMap((x) => x.image)).size);
    expect((await loadArm('full')).ocr.tasks).toEqual(['scene']);
  }, 120_000);

  it('`train --backend cpu` and `run --backend cpu` train the same student for an arm and predict the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-train-run-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')) as Array<{ instruction: string }>;
    const scene = rows.filter((r) => r.instruction.startsWith('Picture'));
    const intent = rows.filter((r) => !r.instruction.startsWith('Picture'));
    await writeFile(join(dir, 'train.json'), JSON.stringify([...scene.slice(0, 30), ...intent.slice(0, 60)]));
    await writeFile(join(dir, 'test.json'), JSON.stringify([...scene.slice(30, 40), ...intent.slice(60, 80)]));
    // OCR for scene rows at training, text augmentation: the stages both commands share
    await writeFile(join(dir, 'arm.json'), JSON.stringify({ name: 'shared', ocr: { train: true, infer: false, tasks: ['scene'] }, augment: { factor: 2 } }));
    // and the rationales of the training rows (the file holds all 716: the others are counted, not used)
    const arm = ['--arm', join(dir, 'arm.json'), '--train', join(dir, 'train.json'), '--rationales', join(MIRE, 'rationales.gpt-4o.jsonl')];
    // separate caches: each command trains its own student
    const t = await cli('train', '--backend', 'cpu', ...arm, '--images', IMAGES, '--out', join(dir, 'trained'), '--cache', join(dir, 'cache-t'));
    expect(t.code, t.stderr).toBe(0);
    const r = await cli('run', ...arm, '--train-images', IMAGES, '--test', join(dir, 'test.json'), '--test-images', IMAGES, '--out', join(dir, 'run'), '--cache', join(dir, 'cache-r'));
    expect(r.code, r.stderr).toBe(0);
    for (const out of [t.stderr, r.stderr]) expect(out).toMatch(/rationales: \d{2} training row\(s\) from .*; 6\d\d line\(s\) of other rows ignored/);
    const trained = await readFile(join(dir, 'trained', 'student.json'), 'utf8');
    expect(trained).toBe(await readFile(join(dir, 'run', 'student.json'), 'utf8'));
    // the augmented rows (lineage on disk) and OCR reached the student: more scene vocabulary than rows alone give
    const augmented = JSON.parse(await readFile(join(dir, 'trained', 'augment', 'train.json'), 'utf8')) as Array<{ id: string }>;
    expect(augmented.filter((x) => x.id.includes('#aug'))).toHaveLength(90);
    const p = await cli('distill', 'predict', '--model', join(dir, 'trained', 'student.json'), '--in', join(dir, 'test.json'), '--images', IMAGES, '--out', join(dir, 'predicted'));
    expect(p.code, p.stderr).toBe(0);
    expect(await readFile(join(dir, 'predicted', 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'run', 'predictions.jsonl'), 'utf8'));
  }, 180_000);

  it('the committed JSON Schema of arm files is current, and every checked-in arm names it', async () => {
    expect(JSON.parse(await readFile(join(ARMS_DIR, 'arm.schema.json'), 'utf8'))).toEqual(armJsonSchema());
    for (const f of (await readdir(ARMS_DIR)).filter((x) => x.endsWith('.json') && x !== 'arm.schema.json')) expect(JSON.parse(await readFile(join(ARMS_DIR, f), 'utf8')).$schema).toBe('./arm.schema.json');
  });

  it('has the checked-in arms and a 16-run factorial grid', async () => {
    for (const a of ['baseline', 'ocr-train', 'ocr-train-infer', 'lora-r16-a32-ocr', 'augment', 'rag', 'distill', 'full']) expect((await loadArm(a)).ocr).toBeDefined();
    const grid = gridArms();
    expect(grid).toHaveLength(16);
    expect(new Set(grid.map((g) => g.name)).size).toBe(16);
    await expect(loadArm('nope')).rejects.toMatchObject({ code: 'config-invalid' });
  });

  it('--backend llamafactory trains with LLaMA-Factory, predicts every checkpoint with vllm serve, submits the last (fakes of both)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-rungpu-'));
    const tools = await installFakeTools(dir);
    vi.stubEnv('PATH', tools.env['PATH']);
    const port = await new Promise<number>((ok) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => ok(p));
      });
    });
    try {
      const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8'));
      const test = rows.slice(16, 22);
      await writeFile(join(dir, 'train.json'), JSON.stringify(rows.slice(0, 16)));
      await writeFile(join(dir, 'test.json'), JSON.stringify(test));
      await writeFile(join(dir, 'test-blank.json'), JSON.stringify(test.map((r: Record<string, unknown>) => ({ ...r, output: '' }))));
      const base = ['run', '--backend', 'llamafactory', '--arm', 'ocr-train-infer', '--train', join(dir, 'train.json'), '--train-images', IMAGES, '--test-images', IMAGES, '--cache', join(dir, 'cache'), '--port', String(port)];
      const a = await cli(...base, '--test', join(dir, 'test.json'), '--out', join(dir, 'a'));
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/ocr-train-infer\s+average \d+\.\d\d/);
      // the trainer saw OCR text in its prompts, as the arm says
      expect(await readFile(join(dir, 'a', 'train', 'data', 'llm_ir_train.json'), 'utf8')).toContain('<ocr>');
      const summary = JSON.parse(await readFile(join(dir, 'a', 'summary.json'), 'utf8'));
      expect(summary.checkpoints.map((c: { epoch: number }) => c.epoch)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
      const csv = (await readFile(join(dir, 'a', 'submission.csv'), 'utf8')).trim().split('\n');
      expect(csv[0]).toBe('id,predict');
      expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(test.map((r: { id: string }) => r.id));
      const canonical = new Set([...SCENE_LABELS.names, ...INTENT_LABELS.names]);
      expect(csv.slice(1).every((l) => canonical.has(l.slice(l.indexOf(',') + 1)))).toBe(true);
      expect(await readFile(join(dir, 'a', 'report.html'), 'utf8')).toContain('<svg');
      // the server is gone once the run ends
      await expect(fetch(`http://127.0.0.1:${port}/v1/models`)).rejects.toThrow();

      // no labels: same predictions, and only the last checkpoint is served
      const b = await cli(...base, '--test', join(dir, 'test-blank.json'), '--out', join(dir, 'b'));
      expect(b.code, b.stderr).toBe(0);
      expect(await readFile(join(dir, 'b', 'predictions.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'a', 'predictions.jsonl'), 'utf8'));
      expect(await readFile(join(dir, 'b', 'vllm.log'), 'utf8')).toContain('Uvicorn running');

      // a rerun reuses the finished training
      const again = await cli(...base, '--test', join(dir, 'test.json'), '--out', join(dir, 'a'));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('reusing the finished run');

      // on SLURM the checkpoints are never served on the login node: a server in a GPU job, or --endpoint
      process.env['FAKE_SLURM_DIR'] = tools.env['FAKE_SLURM_DIR'];
      const slurm = await cli(...base, '--executor', 'slurm', '--test', join(dir, 'test.json'), '--out', join(dir, 'd'));
      expect(slurm.code).not.toBe(0);
      expect(slurm.stderr).toMatch(/served in a SLURM job on a GPU node .*vllm serve \S+ --host 0\.0\.0\.0 .*--max-lora-rank 8 .*--limit-mm-per-prompt \{"image":2\}.* --endpoint and --model/s);
      expect(existsSync(join(dir, 'd', 'train', 'train.sbatch'))).toBe(true);

      // retrieval and self-distillation are CPU stages: such an arm is refused, not trained without them
      const rag = await cli('run', '--backend', 'llamafactory', '--arm', 'rag', '--train', join(dir, 'train.json'), '--train-images', IMAGES, '--test', join(dir, 'test.json'), '--test-images', IMAGES, '--out', join(dir, 'c'));
      expect(rag.code).not.toBe(0);
      expect(rag.stderr).toMatch(/has rag: the GPU backends have no rag stage/);
      const trainRag = await cli('train', '--backend', 'llamafactory', '--arm', 'rag', '--train', join(dir, 'train.json'), '--images', IMAGES, '--out', join(dir, 'e'), '--dry-run');
      expect(trainRag.code).not.toBe(0);
      expect(trainRag.stderr).toMatch(/has rag: the GPU backends have no rag stage/);

      // `train` and `run` give the GPU trainer the same rows for an arm: augmented, with OCR in the prompts
      const aug = ['--backend', 'llamafactory', '--arm', '+augment', '--train', join(dir, 'train.json'), '--cache', join(dir, 'cache')];
      const viaRun = await cli('run', ...aug, '--train-images', IMAGES, '--test', join(dir, 'test.json'), '--test-images', IMAGES, '--out', join(dir, 'f'), '--port', String(port));
      expect(viaRun.code, viaRun.stderr).toBe(0);
      const viaTrain = await cli('train', ...aug, '--images', IMAGES, '--out', join(dir, 'g'), '--dry-run');
      expect(viaTrain.code, viaTrain.stderr).toBe(0);
      const exported = await readFile(join(dir, 'g', 'data', 'llm_ir_train.json'), 'utf8');
      expect(exported).toBe(await readFile(join(dir, 'f', 'train', 'data', 'llm_ir_train.json'), 'utf8'));
      expect(JSON.parse(exported).length).toBeGreaterThan(16);
    } finally {
    }
  }, 240_000);
});
