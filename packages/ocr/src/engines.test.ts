import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEngine } from './engines/index.ts';
import { parseTesseractTsv } from './engines/tesseract-cli.ts';
import { createOcrPool } from './pool.ts';
import type { OcrEngineName } from './types.ts';
import { needs, TESSERACT } from '@llm-ir/core/testing';

const IMAGES = fileURLToPath(new URL('../../../../shared/datasets/www2025-mire/images/', import.meta.url));

/**
 * Real screenshots of the shared data and text a person reads on them. `all` must be found by the
 * default engine; the tesseract engines, much weaker on small UI text, must find `tesseract`.
 */
const SCREENSHOTS = [
  {
    file: '3fc85b30-3ab3-4cad-a2de-324e2ae6a078-1279-0.jpg', // a return page
    all: ['选择退货方式', '商家已同意退货', '发到付件拒签', '您有退货运费未付', '支付后才可使用在线寄件', '寄件商品', '我已阅读并同意《服务协议》', '暂停服务'],
    tesseract: ['您有退货运费', '去支付或去反馈问题'],
  },
  {
    file: '689968bd-fa60-4fae-b279-811831e9b7be-253-0.jpg', // a product page
    all: ['官方精选', '正品发票', '售后无忧', '百亿补贴', '5天内发货', '立即购买'],
    tesseract: ['售后无忧'],
  },
];

const squash = (s: string) => s.replace(/\s+/g, '');

describe.each(['paddle', 'tesseract', 'tesseract-cli'] as OcrEngineName[])('engine %s on real screenshots', (name) => {
  const system = name === 'tesseract-cli' ? needs(TESSERACT) : { skip: false, note: '' };
  it.skipIf(system.skip)(`finds the Chinese text a person reads, with boxes in [0, 1] and confidences${system.note}`, async () => {
    const engine = await createEngine(name);
    try {
      for (const shot of SCREENSHOTS) {
        const r = await engine.recognize(IMAGES + shot.file);
        const text = squash(r.text);
        const want = name === 'paddle' ? shot.all : shot.tesseract;
        for (const w of want) expect(text, `${name} on ${shot.file}`).toContain(squash(w));
        expect(r.width).toBeGreaterThan(100);
        for (const l of r.lines) {
          expect(l.box[0]).toBeGreaterThanOrEqual(0);
          expect(l.box[2]).toBeLessThanOrEqual(1);
          expect(l.box[0]).toBeLessThanOrEqual(l.box[2]);
          expect(l.box[1]).toBeLessThanOrEqual(l.box[3]);
          expect(l.confidence).toBeGreaterThanOrEqual(0);
          expect(l.confidence).toBeLessThanOrEqual(1);
        }
        // reading order: line tops never go up by more than a line height
        const tops = r.lines.map((l) => l.box[1]);
        tops.forEach((t, i) => i === 0 || expect(t).toBeGreaterThan(tops[i - 1]! - 0.05));
        expect(r.engine).toBe(engine.id);
        // where the time went: the engine's own stages, each within the whole
        const stages = Object.keys(r.stages ?? {}).sort();
        expect(stages).toEqual(name === 'paddle' ? ['boxes', 'ctc-decode', 'detect-input', 'detect-model', 'prepare', 'recognize-input', 'recognize-model'] : ['prepare', 'tesseract']);
        const spent = Object.values(r.stages!).reduce((a, b) => a + b, 0);
        expect(spent).toBeGreaterThan(0);
        expect(spent).toBeLessThanOrEqual(r.ms + 1);
        // bytes and path give the same result
        const again = await engine.recognize(await readFile(IMAGES + shot.file));
        expect(again.lines).toEqual(r.lines);
      }
    } finally {
      await engine.close();
    }
  }, 120_000);
});

describe('paddle boxes', () => {
  it('put text where it is on the page (the orange banner text near the top, the button at the bottom)', async () => {
    const engine = await createEngine('paddle');
    const r = await engine.recognize(IMAGES + SCREENSHOTS[0]!.file);
    await engine.close();
    const find = (t: string) => r.lines.find((l) => squash(l.text).includes(t))!;
    const banner = find('商家已同意退货');
    const button = find('暂停服务');
    expect(banner.box[1]).toBeGreaterThan(0.1);
    expect(banner.box[3]).toBeLessThan(0.22);
    expect(banner.box[0]).toBeLessThan(0.15);
    expect(button.box[1]).toBeGreaterThan(0.85);
    expect((button.box[0] + button.box[2]) / 2).toBeGreaterThan(0.35);
    expect((button.box[0] + button.box[2]) / 2).toBeLessThan(0.65);
  }, 60_000);
});

describe('worker pool', () => {
  it('runs paddle in two worker threads with the same results as one engine in this thread', async () => {
    const files = [SCREENSHOTS[0]!.file, SCREENSHOTS[1]!.file, SCREENSHOTS[0]!.file];
    const single = await createEngine('paddle');
    const expected = [];
    for (const f of files) expected.push((await single.recognize(IMAGES + f)).lines);
    await single.close();
    const pool = await createOcrPool({ engine: 'paddle', workers: 2 });
    try {
      expect(pool.size).toBe(2);
      const got = await Promise.all(files.map((f) => pool.recognize(IMAGES + f)));
      expect(got.map((g) => g.lines)).toEqual(expected);
      await expect(pool.recognize(Buffer.from('not an image'))).rejects.toMatchObject({ code: 'image-corrupt' });
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('says clearly when an engine cannot load', async () => {
    await expect(createOcrPool({ engine: 'tesseract-cli', tesseractBinary: '/nonexistent/tesseract', workers: 1 })).rejects.toMatchObject({ code: 'engine-unavailable' });
  });
});

describe('tesseract TSV', () => {
  it('groups words into lines with mean confidence and a union box', () => {
    const tsv = [
      'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext',
      '1\t1\t0\t0\t0\t0\t0\t0\t200\t100\t-1\t',
      '4\t1\t1\t1\t1\t0\t10\t10\t100\t20\t-1\t',
      '5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t90\t退款',
      '5\t1\t1\t1\t1\t2\t60\t12\t50\t18\t70\t成功',
      '5\t1\t1\t1\t2\t1\t10\t50\t30\t10\t-1\t ',
    ].join('\n');
    const p = parseTesseractTsv(tsv);
    expect(p.width).toBe(200);
    expect(p.lines).toEqual([{ text: '退款 成功', confidence: 0.8, x0: 10, y0: 10, x1: 110, y1: 30 }]);
  });
});
