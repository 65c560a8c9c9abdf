import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI } from '@llm-ir/distill/testing';
import { cli, MIRE } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

describe('llm-ir distill', () => {
  it('labels with an OpenAI-compatible teacher, trains the student on the soft labels, and predicts a submission', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-distillcli-'));
    const rows = JSON.parse(await readFile(join(MIRE, 'train.json'), 'utf8')).filter((r: { instruction: string }) => !r.instruction.startsWith('Picture')).slice(0, 60);
    await writeFile(join(dir, 'pool.json'), JSON.stringify(rows));
    // the fake teacher answers the first letter with probability 0.9 for every row
    const fake = await startFakeOpenAI({ answer: () => ({ text: 'B', tokenProbs: { B: 0.9, C: 0.1 } }) });
    try {
      const label = await cli('distill', 'label', '--teacher', `openai:${fake.url}#qwen2-vl`, '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'labelled'), '--min-confidence', '0.8');
      expect(label.code).toBe(0);
      expect(label.stdout).toMatch(/60 of 60 rows kept/);
      const soft = (await readFile(join(dir, 'labelled', 'soft.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(soft).toHaveLength(60);
      expect(soft[0].probs['是否好用']).toBeCloseTo(0.9, 9);
      expect(fake.requests).toHaveLength(60);
      const again = await cli('distill', 'label', '--teacher', `openai:${fake.url}#qwen2-vl`, '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'labelled'));
      expect(again.code).toBe(0);
      expect(fake.requests).toHaveLength(60); // resumed from the journal: nothing asked twice
    } finally {
      await fake.close();
    }
    const model = join(dir, 'student.json');
    const train = await cli('distill', 'train', '--train', join(MIRE, 'train.json'), '--soft', join(dir, 'labelled', 'soft.jsonl'), '--out', model);
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/intent \d+ features/);
    const pred = await cli('distill', 'predict', '--model', model, '--in', join(dir, 'pool.json'), '--out', join(dir, 'pred'));
    expect(pred.code).toBe(0);
    const csv = (await readFile(join(dir, 'pred', 'submission.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,predict');
    expect(csv).toHaveLength(61);
    const bad = await cli('distill', 'label', '--teacher', 'magic:x', '--in', join(dir, 'pool.json'), '--images', join(MIRE, 'images'), '--out', join(dir, 'x'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown teacher/);
  }, 180_000);
});
