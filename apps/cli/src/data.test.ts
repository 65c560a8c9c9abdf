import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EXPECTED_PROBLEMS, makeBadCorpus } from '@llm-ir/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, MIRE } from './__fixtures__/cli.ts';

const pexec = promisify(execFile);
const TRAIN = join(MIRE, 'train.json');
const IMAGES = join(MIRE, 'images');
const BIN = fileURLToPath(new URL('../bin/llm-ir.js', import.meta.url));

let corpus: Awaited<ReturnType<typeof makeBadCorpus>>;
beforeAll(async () => {
  corpus = await makeBadCorpus();
});

describe('llm-ir data validate', () => {
  it('finds no problem in the official file and its images', async () => {
    const r = await cli('data', 'validate', TRAIN, '--images', IMAGES);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('no problems');
  }, 120_000);

  it('prints one line per problem naming row, id and reason, and exits 1', async () => {
    const r = await cli('data', 'validate', corpus.file, '--images', corpus.images);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    for (const want of EXPECTED_PROBLEMS) {
      expect(lines.some((l) => l.includes(`row ${want.row} `) && l.includes(`[${want.code}`)), `row ${want.row} ${want.code}`).toBe(true);
    }
    expect(lines.find((l) => l.includes('image-truncated'))).toMatch(/bad\.json row 1 \(id truncated\): image\[0\]: image "truncated\.jpg"/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints JSON with --json', async () => {
    const r = await cli('data', 'validate', corpus.file, '--images', corpus.images, '--json');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { problems: Array<{ row: number; id: string; code: string; message: string }> };
    expect(out.problems.find((p) => p.code === 'path-escape' && p.row === 4)).toMatchObject({ id: 'escape' });
  });

  it('says clearly when the file does not exist, without a stack trace', async () => {
    const r = await cli('data', 'validate', join(corpus.dir, 'nope.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \[io\]: .*nope\.json: cannot open file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('llm-ir data inspect', () => {
  it('counts 560 scene and 239 intent rows in the official file', async () => {
    const r = await cli('data', 'inspect', TRAIN, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tasks).toEqual({ scene: 560, intent: 239 });
    expect(out.rows).toBe(799);
    expect(out.imagesPerRow).toEqual({ 0: 1, 1: 772, 2: 22, 3: 3, 4: 1 });
    expect(Object.keys(out.labels.intent)).toHaveLength(23);
    expect(out.badRows).toEqual([]);
  });

  it('summarises the good rows of a bad file, lists the bad ones and exits 2', async () => {
    const r = await cli('data', 'inspect', corpus.file, '--images', corpus.images, '--json');
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toBeGreaterThan(5);
    expect(out.badRows.map((b: { code: string }) => b.code).sort()).toEqual(['duplicate-id', 'empty-dialogue', 'invalid-row', 'placeholder-mismatch']);
    expect(out.imageSize.unreadable).toBeGreaterThan(0);
    const text = await cli('data', 'inspect', corpus.file);
    expect(text.stdout).toContain('bad rows:');
    expect(text.stdout).toMatch(/row 8, id empty-dialogue.*the dialogue has no turn/);
  });
});

describe('llm-ir data split and convert', () => {
  it('writes a stratified split and k folds in the challenge format', async () => {
    const out = await mkdtemp(join(tmpdir(), 'llm-ir-split-'));
    expect((await cli('data', 'split', TRAIN, '--out', out, '--seed', '3')).code).toBe(0);
    const train = JSON.parse(await readFile(join(out, 'train.json'), 'utf8'));
    const test = JSON.parse(await readFile(join(out, 'test.json'), 'utf8'));
    expect(train.length + test.length).toBe(799);
    expect(test[0]).toHaveProperty('instruction');
    expect((await cli('data', 'split', TRAIN, '--out', out, '--k', '5')).code).toBe(0);
    let total = 0;
    for (let f = 0; f < 5; f++) total += JSON.parse(await readFile(join(out, `fold-${f}`, 'test.json'), 'utf8')).length;
    expect(total).toBe(799);
  });

  it('converts challenge JSON to sample JSONL and back without changing a row', async () => {
    const out = await mkdtemp(join(tmpdir(), 'llm-ir-convert-'));
    expect((await cli('data', 'convert', TRAIN, join(out, 's.jsonl'))).code).toBe(0);
    expect((await cli('data', 'convert', join(out, 's.jsonl'), join(out, 'back.json'))).code).toBe(0);
    const original = await readFile(TRAIN, 'utf8');
    const back = await readFile(join(out, 'back.json'), 'utf8');
    expect(JSON.parse(back)).toEqual(JSON.parse(original));
    expect(back).toBe(original);
  });
});

describe('the llm-ir binary', () => {
  it('runs from source with --help on every command', async () => {
    const top = await pexec(process.execPath, [BIN, '--help']);
    expect(top.stdout).toContain('data');
    for (const sub of ['validate', 'inspect', 'split', 'convert']) {
      const r = await pexec(process.execPath, [BIN, 'data', sub, '--help']);
      expect(r.stdout).toContain(`Usage: llm-ir data ${sub}`);
    }
  });

  it('exits 1 on bad data with no stack trace', async () => {
    const err = await pexec(process.execPath, [BIN, 'data', 'validate', corpus.file, '--images', corpus.images]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stdout).toContain('[image-truncated]');
    expect(err.stderr).not.toMatch(/\n\s+at /);
  });
});
