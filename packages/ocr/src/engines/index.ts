import type { EngineOptions, OcrEngine, OcrEngineName } from '../types.ts';
import { EngineError } from './common.ts';

/** Loads one engine in this thread. */
export async function createEngine(name: OcrEngineName, options: EngineOptions = {}): Promise<OcrEngine> {
  switch (name) {
    case 'paddle':
      return (await import('./paddle.ts')).createPaddleEngine(options);
    case 'tesseract':
      return (await import('./tesseract-js.ts')).createTesseractJsEngine(options);
    case 'tesseract-cli':
      return (await import('./tesseract-cli.ts')).createTesseractCliEngine(options);
    default:
      throw new EngineError('config-invalid', `unknown OCR engine ${JSON.stringify(name)} (paddle, tesseract, tesseract-cli)`);
  }
}
