import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MIRE_TRAIN } from './__fixtures__/shared-data.ts';
import { writeFileAtomic, writeStreamAtomic } from './fs-atomic.ts';
import {
  collect,
  readJsonArray,
  readJsonl,
  readLines,
  readPredictionsJsonl,
  readSubmissionCsv,
  writePredictionsJsonl,
  writeSubmissionCsv,
} from './io.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llm-ir-io-'));
});

describe('readLines / readJsonl', () => {
  it('splits lines across chunk boundaries, multi-byte characters included', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i, text: '用户：什么时候补货？'.repeat(i % 7) }));
    const file = join(dir, 'a.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    for (const chunkSize of [1, 3, 7, 64, 1 << 20]) {
      const got = await collect(readLines(file, { chunkSize }));
      expect(got.map(([, l]) => l)).toEqual(lines);
    }
    const rows = await collect(readJsonl<{ i: number }>(file, { chunkSize: 5 }));
    expect(rows.map((r) => (r.ok ? r.value.i : -1))).toEqual(lines.map((_, i) => i));
  });

  it('strips a BOM and CR line ends, skips blank lines, reports bad lines with their index', async () => {
    const file = join(dir, 'b.jsonl');
    await writeFile(file, '\uFEFF{"a":1}\r\n\r\n{bad json}\r\n{"a":3}');
    const rows = await collect(readJsonl(file));
    expect(rows.map((r) => r.row)).toEqual([0, 2, 3]);
    expect(rows[0]).toEqual({ ok: true, row: 0, value: { a: 1 } });
    expect(rows[1]!.ok).toBe(false);
    if (!rows[1]!.ok) expect(rows[1]!.error).toMatchObject({ code: 'invalid-json', row: 2, file });
    expect(rows[2]).toEqual({ ok: true, row: 3, value: { a: 3 } });
  });

  it('skips a line over the row-size limit without keeping it, and reads the lines around it', async () => {
    const file = join(dir, 'big.jsonl');
    await writeFile(file, `{"a":1}\n{"big":"${'x'.repeat(3 << 20)}"}\n{"a":3}\n`);
    const rows = await collect(readJsonl(file, { chunkSize: 1 << 16, maxLineBytes: 1 << 20 }));
    expect(rows.map((r) => r.row)).toEqual([0, 1, 2]);
    expect(rows[1]).toMatchObject({ ok: false, error: { code: 'row-too-large', file, row: 1, message: expect.stringContaining(`${(3 << 20) + 10} bytes`) } });
    expect(rows[2]).toEqual({ ok: true, row: 2, value: { a: 3 } });
    // under the limit, the same line is read whole
    expect((await collect(readJsonl(file, { chunkSize: 1 << 16 })))[1]).toMatchObject({ ok: true, value: { big: expect.any(String) } });
  });
});

describe('readJsonArray', () => {
  it('streams the 799 official rows in order', async () => {
    const rows = await collect(readJsonArray<{ id: string }>(MIRE_TRAIN, { chunkSize: 4096 }));
    const whole = JSON.parse(await readFile(MIRE_TRAIN, 'utf8')) as Array<{ id: string }>;
    expect(rows.map((r) => (r.ok ? r.value.id : ''))).toEqual(whole.map((r) => r.id));
  });

  it('yields the rows before a fault, then one error naming the element', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '[{"a":1},{"a":2},{"a":');
    const rows = await collect(readJsonArray(file));
    expect(rows.slice(0, 2).map((r) => r.ok)).toEqual([true, true]);
    expect(rows[2]).toMatchObject({ ok: false, row: 2 });
  });

  it('keeps every row before a syntax error in the middle of the official file, and names the broken row', async () => {
    const whole = JSON.parse(await readFile(MIRE_TRAIN, 'utf8')) as Array<{ id: string }>;
    const text = `[${whole.slice(0, 400).map((r) => JSON.stringify(r)).join(',\n')},\n{"id": "x", "instruction": oops},\n${whole.slice(400).map((r) => JSON.stringify(r)).join(',\n')}]`;
    const file = join(dir, 'mid-broken.json');
    await writeFile(file, text);
    for (const chunkSize of [4096, 1 << 20]) {
      const rows = await collect(readJsonArray<{ id: string }>(file, { chunkSize }));
      expect(rows.filter((r) => r.ok).map((r) => (r.ok ? r.value.id : ''))).toEqual(whole.slice(0, 400).map((r) => r.id));
      expect(rows.at(-1)).toMatchObject({ ok: false, row: 400, error: { code: 'invalid-json', message: expect.stringContaining('element 400') } });
    }
  });

  it('throws an io error for a missing file', async () => {
    await expect(collect(readJsonArray(join(dir, 'nope.json')))).rejects.toMatchObject({ code: 'io' });
  });
});

describe('submission and predictions files', () => {
  it('round-trips a submission CSV, quoting where needed', async () => {
    const file = join(dir, 'submission.csv');
    const rows = [
      { id: 'a', predict: '退款页面' },
      { id: 'b,c', predict: '账单/账户页面' },
      { id: 'd', predict: 'say "hi"' },
    ];
    await writeSubmissionCsv(file, rows);
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe('id,predict');
    const back = await collect(readSubmissionCsv(file));
    expect(back.map((r) => (r.ok ? r.value : null))).toEqual(rows);
  });

  it('refuses a CSV without the id,predict header', async () => {
    const file = join(dir, 'wrong.csv');
    await writeFile(file, 'x,y\n1,2\n');
    await expect(collect(readSubmissionCsv(file))).rejects.toMatchObject({ code: 'invalid-format' });
  });

  it('validates prediction lines', async () => {
    const file = join(dir, 'p.jsonl');
    await writePredictionsJsonl(file, [{ id: 'a', task: 'scene', label: '退款页面', probs: { 退款页面: 0.9, 退货页面: 0.1 } }]);
    await writeFile(file, `${await readFile(file, 'utf8')}{"id":"b"}\n{"id":"c","label":"x","task":"other"}\n`);
    const rows = await collect(readPredictionsJsonl(file));
    expect(rows[0]).toMatchObject({ ok: true, value: { id: 'a', probs: { 退款页面: 0.9 } } });
    expect(rows.slice(1).map((r) => (r.ok ? '' : r.error.reason))).toEqual(['missing "label"', '"task" must be "scene" or "intent"']);
  });
});

describe('atomic writes', () => {
  it('leaves no temporary file and no partial target when a stream fails', async () => {
    const target = join(dir, 'atomic', 'out.txt');
    await writeFileAtomic(target, 'old');
    async function* failing() {
      yield 'new part';
      throw new Error('boom');
    }
    await expect(writeStreamAtomic(target, failing())).rejects.toThrow('boom');
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(join(dir, 'atomic'))).toEqual(['out.txt']);
  });

  it('writes a stream that fills the buffer many times without piling up listeners', async () => {
    const target = join(dir, 'atomic', 'big.txt');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const chunk = 'x'.repeat(64 * 1024);
    function* many() {
      for (let i = 0; i < 200; i++) yield chunk;
    }
    try {
      await writeStreamAtomic(target, many());
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect((await readFile(target, 'utf8')).length).toBe(200 * chunk.length);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
