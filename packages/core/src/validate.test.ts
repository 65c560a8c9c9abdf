import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED_PROBLEMS, makeBadCorpus, sceneRow } from './testing/index.ts';
import { MIRE_IMAGES, MIRE_TRAIN } from './__fixtures__/shared-data.ts';
import { loadSamples } from './dataset.ts';
import { checkImage, resolveImagePath } from './images.ts';
import type { ProgressEvent } from './progress.ts';
import { validateFile } from './validate.ts';

let corpus: Awaited<ReturnType<typeof makeBadCorpus>>;
beforeAll(async () => {
  corpus = await makeBadCorpus();
});

describe('validateFile', () => {
  it('reports zero problems on the 799 official rows and their 829 images', async () => {
    const events: ProgressEvent[] = [];
    const problems = await validateFile(MIRE_TRAIN, { imagesDir: MIRE_IMAGES, onProgress: (e) => events.push(e) });
    expect(problems).toEqual([]);
    const progress = events.filter((e) => e.type === 'stage-progress').map((e) => (e as { completed: number }).completed);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(events.filter((e) => e.type === 'stage-end')).toHaveLength(1);
    expect(progress.at(-1)).toBe(events.find((e) => e.type === 'stage-start')!.total);
  }, 120_000);

  it('names the row, id and reason of every bad case', async () => {
    const problems = await validateFile(corpus.file, { imagesDir: corpus.images });
    for (const want of EXPECTED_PROBLEMS) {
      const got = problems.filter((p) => p.row === want.row);
      expect(got.map((p) => p.code), `row ${want.row}`).toContain(want.code);
    }
    expect(problems.filter((p) => p.row === 0 || p.row === 13)).toEqual([]);
    const trunc = problems.find((p) => p.code === 'image-truncated')!;
    expect(trunc).toMatchObject({ row: 1, id: 'truncated', field: 'image[0]', severity: 'error' });
    expect(trunc.message).toContain('truncated.jpg');
    const huge = problems.find((p) => p.code === 'image-too-large')!;
    expect(huge.message).toContain('60000x60000');
    expect(problems.find((p) => p.row === 11)!.message).toContain('link that leaves');
  });

  it('reports malformed JSON, a BOM and CRLF line ends at file level', async () => {
    const bad = join(corpus.dir, 'broken.json');
    await writeFile(bad, '[{"id": "a", "instruction": "x", "image": []}, {"id": ');
    const p1 = await validateFile(bad);
    expect(p1.some((p) => p.code === 'invalid-json' && p.row === 1)).toBe(true);

    const bom = join(corpus.dir, 'bom.json');
    await writeFile(bom, `\uFEFF${JSON.stringify([sceneRow('a', 'good.jpg')], null, 2).replace(/\n/g, '\r\n')}`);
    const p2 = await validateFile(bom, { imagesDir: corpus.images });
    expect(p2.map((p) => p.code).sort()).toEqual(['bom', 'crlf']);
    expect(p2.every((p) => p.severity === 'warning' && p.row === null)).toBe(true);
    // readers tolerate both
    const loaded = await loadSamples(bom);
    expect(loaded.errors).toEqual([]);
    expect(loaded.samples).toHaveLength(1);

    const crInside = join(corpus.dir, 'cr-inside.json');
    const row = sceneRow('cr', 'good.jpg');
    row.instruction = row.instruction.replace('\n', '\r\n');
    await writeFile(crInside, JSON.stringify([row]));
    expect((await validateFile(crInside)).map((p) => [p.row, p.code])).toEqual([[0, 'crlf']]);
  });

  it('reads JSONL with a bad line and goes on', async () => {
    const file = join(corpus.dir, 'rows.jsonl');
    await writeFile(file, `${JSON.stringify(sceneRow('a', 'good.jpg'))}\r\n{oops\r\n${JSON.stringify(sceneRow('b', 'good.jpg'))}\r\n`);
    const problems = await validateFile(file);
    expect(problems.map((p) => [p.row, p.code])).toEqual([
      [null, 'crlf'],
      [1, 'invalid-json'],
    ]);
    const loaded = await loadSamples(file);
    expect(loaded.samples.map((s) => s.id)).toEqual(['a', 'b']);
    expect(loaded.errors[0]!.message).toMatch(/rows\.jsonl, row 1: invalid JSON/);
  });
});

describe('image safety', () => {
  it('refuses absolute paths, .. segments and links that leave the folder', async () => {
    await expect(resolveImagePath(corpus.images, '/etc/passwd')).rejects.toMatchObject({ code: 'path-escape' });
    await expect(resolveImagePath(corpus.images, '../../etc/passwd')).rejects.toMatchObject({ code: 'path-escape' });
    await expect(resolveImagePath(corpus.images, 'a/../../b.jpg')).rejects.toMatchObject({ code: 'path-escape' });
    await expect(resolveImagePath(corpus.images, 'link-out.jpg')).rejects.toMatchObject({ code: 'path-escape' });
    await expect(resolveImagePath(corpus.images, 'good.jpg')).resolves.toMatch(/good\.jpg$/);
  });

  it('checks byte and pixel limits from the header', async () => {
    await expect(checkImage(corpus.images, 'good.jpg', { maxBytes: 10 })).rejects.toMatchObject({ code: 'image-too-large' });
    await expect(checkImage(corpus.images, 'good.jpg', { maxPixels: 100 })).rejects.toMatchObject({ code: 'image-too-large' });
    await expect(checkImage(corpus.images, 'good.jpg', { formats: ['png'] })).rejects.toMatchObject({ code: 'image-unsupported' });
    await expect(checkImage(corpus.images, 'good.jpg')).resolves.toMatchObject({ width: 64, height: 48, format: 'jpeg' });
  });
});
