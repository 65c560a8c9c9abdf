import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, SHARED } from './__fixtures__/cli.ts';
import { describe, expect, it } from 'vitest';

describe('llm-ir index', () => {
  it('builds from the shared data, searches in Chinese, reports info, and updates in place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llm-ir-indexcli-'));
    const db = join(dir, 'db');
    const extra = join(dir, 'extra.jsonl');
    await writeFile(extra, `${JSON.stringify({ id: 'faq-1', text: '保温杯内胆是316不锈钢，可以装热水', source: 'faq' })}\n`);
    const built = await cli('index', 'build', '--db', db, '--exemplars', join(SHARED, 'www2025-mire/train.json'), '--knowledge', join(SHARED, 'taobao-titles/dev.jsonl'), extra);
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/799 exemplars and \d+ knowledge items upserted/);
    const hits = await cli('index', 'search', '--db', db, '什么时候补货', '--mode', 'fts', '--task', 'intent', '--json');
    expect(hits.code).toBe(0);
    const parsed = hits.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(parsed).toHaveLength(5);
    expect(parsed.every((h: { fields: { task: string } }) => h.fields.task === 'intent')).toBe(true);
    const faq = await cli('index', 'search', '--db', db, '保温杯 不锈钢', '--table', 'knowledge', '--source', 'faq', '--k', '1');
    expect(faq.stdout).toContain('316不锈钢');
    const info = JSON.parse((await cli('index', 'info', '--db', db, '--json')).stdout);
    expect(info.tables.exemplars.rows).toBe(799);
    const v = info.tables.knowledge.version;
    await cli('index', 'build', '--db', db, '--knowledge', extra, '--no-agent-replies', '--no-label-descriptions');
    const after = JSON.parse((await cli('index', 'info', '--db', db, '--json')).stdout);
    expect(after.tables.knowledge.version).toBeGreaterThan(v);
    expect(after.tables.knowledge.rows).toBe(info.tables.knowledge.rows);
    const missing = await cli('index', 'search', '--db', join(dir, 'nothing'), 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/build the index with `llm-ir index build` first/);
  }, 120_000);
});
