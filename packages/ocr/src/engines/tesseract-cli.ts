import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { OcrLine } from '@llm-ir/core';
import type { EngineOptions, OcrEngine } from '../types.ts';
import { EngineError, normalizeBox, recognizeWith, timed } from './common.ts';

const pexec = promisify(execFile);

/** Parses tesseract's TSV output into lines (words grouped by block, paragraph and line). */
export function parseTesseractTsv(tsv: string): { lines: Array<{ text: string; confidence: number; x0: number; y0: number; x1: number; y1: number }>; width: number; height: number } {
  const rows = tsv.split('\n').slice(1).filter((r) => r.trim() !== '');
  const groups = new Map<string, { words: string[]; confs: number[]; x0: number; y0: number; x1: number; y1: number }>();
  let width = 0;
  let height = 0;
  for (const row of rows) {
    const c = row.split('\t');
    if (c.length < 12) continue;
    const level = Number(c[0]);
    const [left, top, w, h, conf] = [Number(c[6]), Number(c[7]), Number(c[8]), Number(c[9]), Number(c[10])];
    if (level === 1) {
      width = w;
      height = h;
      continue;
    }
    if (level !== 5) continue;
    const text = c.slice(11).join('\t');
    if (text.trim() === '' || conf < 0) continue;
    const key = `${c[2]}-${c[3]}-${c[4]}`;
    const g = groups.get(key) ?? { words: [], confs: [], x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    g.words.push(text);
    g.confs.push(conf);
    g.x0 = Math.min(g.x0, left);
    g.y0 = Math.min(g.y0, top);
    g.x1 = Math.max(g.x1, left + w);
    g.y1 = Math.max(g.y1, top + h);
    groups.set(key, g);
  }
  return {
    lines: [...groups.values()].map((g) => ({ text: g.words.join(' '), confidence: g.confs.reduce((a, b) => a + b, 0) / g.confs.length / 100, x0: g.x0, y0: g.y0, x1: g.x1, y1: g.y1 })),
    width,
    height,
  };
}

/**
 * The native `tesseract` binary (Debian `tesseract-ocr` + `tesseract-ocr-chi-sim`), one process per
 * image, single-threaded (`OMP_THREAD_LIMIT=1`: OpenMP makes it 3-4x slower on small machines).
 */
export async function createTesseractCliEngine(options: EngineOptions = {}): Promise<OcrEngine> {
  const bin = options.tesseractBinary ?? 'tesseract';
  const languages = options.languages ?? ['chi_sim', 'eng'];
  let version: string;
  try {
    const { stdout, stderr } = await pexec(bin, ['--version']);
    version = /tesseract\s+v?([\d.]+)/i.exec(`${stdout}${stderr}`)?.[1] ?? 'unknown';
    const { stdout: langs, stderr: langErr } = await pexec(bin, ['--list-langs']);
    const have = new Set(`${langs}\n${langErr}`.split('\n').map((l) => l.trim()));
    const missing = languages.filter((l) => !have.has(l));
    if (missing.length) throw new Error(`language data missing: ${missing.join(', ')} (apt-get install tesseract-ocr-chi-sim tesseract-ocr-eng)`);
  } catch (cause) {
    throw new EngineError('engine-unavailable', `native tesseract is not usable: ${(cause as Error).message}`, { cause });
  }
  const upscale = { upscale: options.upscale ?? 2, upscaleBelow: options.upscaleBelow ?? 1200 };
  const psm = options.psm ?? 3;
  const id = `tesseract-cli@${version}(${languages.join('+')},psm${psm},up${upscale.upscale}<${upscale.upscaleBelow})`;
  return {
    name: 'tesseract-cli',
    id,
    recognize: recognizeWith(id, upscale, async (p, opts) => {
      const args = [typeof p.input === 'string' ? p.input : 'stdin', 'stdout', '-l', languages.join('+'), '--psm', String(psm), 'tsv'];
      const tsv = await timed(opts.stages, 'tesseract', () => new Promise<string>((resolve, reject) => {
        const child = spawn(bin, args, { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', (e) => reject(new EngineError('ocr-failed', `tesseract could not run: ${e.message}`, { cause: e })));
        child.on('close', (code) => {
          if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
          else reject(new EngineError('ocr-failed', `tesseract exited with ${code}: ${Buffer.concat(err).toString('utf8').trim().split('\n').slice(-2).join(' ')}`));
        });
        child.stdin.on('error', () => {});
        child.stdin.end(typeof p.input === 'string' ? undefined : p.input);
      }));
      const parsed = parseTesseractTsv(tsv);
      const W = parsed.width || p.width * p.scale;
      const H = parsed.height || p.height * p.scale;
      const lines: OcrLine[] = parsed.lines.map((l) => ({ text: l.text, confidence: l.confidence, box: normalizeBox([l.x0, l.y0, l.x1, l.y1], W, H) }));
      return lines;
    }),
    async close() {},
  };
}
