import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createWorker, OEM } from 'tesseract.js';
import type { OcrLine } from '@llm-ir/core';
import type { EngineOptions, OcrEngine } from '../types.ts';
import { EngineError, normalizeBox, recognizeWith, timed } from './common.ts';
import { packageVersion } from './versions.ts';

const require = createRequire(import.meta.url);

/**
 * tesseract.js reads every language from one `langPath` folder, while each `@tesseract.js-data/*`
 * package has its own: link the packages' LSTM (best_int) files into one temporary folder.
 */
async function npmLangDir(languages: readonly string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-ir-tessdata-'));
  for (const lang of languages) {
    let pkg: string;
    try {
      pkg = dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
    } catch (cause) {
      throw new EngineError('engine-unavailable', `tesseract language data @tesseract.js-data/${lang} is not installed`, { cause });
    }
    await symlink(join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`), join(dir, `${lang}.traineddata.gz`));
  }
  return dir;
}

/**
 * tesseract.js 7 (WebAssembly tesseract 5, LSTM) with `chi_sim` + `eng` data from npm: no CDN, no
 * download, nothing written into the working folder.
 */
export async function createTesseractJsEngine(options: EngineOptions = {}): Promise<OcrEngine> {
  const languages = options.languages ?? ['chi_sim', 'eng'];
  const langPath = await npmLangDir(languages);
  let worker: Awaited<ReturnType<typeof createWorker>>;
  try {
    worker = await createWorker([...languages], OEM.LSTM_ONLY, { langPath, gzip: true, cacheMethod: 'none', errorHandler: () => {} });
    await worker.setParameters({ tessedit_pageseg_mode: String(options.psm ?? 3) as never, preserve_interword_spaces: '1' });
  } catch (cause) {
    await rm(langPath, { recursive: true, force: true });
    throw new EngineError('engine-unavailable', `cannot start tesseract.js: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
  const upscale = { upscale: options.upscale ?? 2, upscaleBelow: options.upscaleBelow ?? 1200 };
  const data = languages.map((l) => `${l}-${packageVersion(`@tesseract.js-data/${l}`)}`).join('+');
  const id = `tesseract.js@${packageVersion('tesseract.js')}(${data},4.0.0_best_int,psm${options.psm ?? 3},up${upscale.upscale}<${upscale.upscaleBelow})`;
  return {
    name: 'tesseract',
    id,
    recognize: recognizeWith(id, upscale, async (p, { stages }) => {
      const input = typeof p.input === 'string' ? p.input : Buffer.from(p.input);
      let page;
      try {
        page = (await timed(stages, 'tesseract', () => worker.recognize(input, {}, { blocks: true, text: false }))).data;
      } catch (cause) {
        throw new EngineError('ocr-failed', `tesseract.js failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
      }
      const W = p.width * p.scale;
      const H = p.height * p.scale;
      const lines: OcrLine[] = [];
      for (const block of page.blocks ?? []) {
        for (const para of block.paragraphs) {
          for (const line of para.lines) {
            const b = line.bbox;
            lines.push({ text: line.text, confidence: line.confidence / 100, box: normalizeBox([b.x0, b.y0, b.x1, b.y1], W, H) });
          }
        }
      }
      return lines;
    }),
    async close() {
      await worker.terminate();
      await rm(langPath, { recursive: true, force: true });
    },
  };
}
