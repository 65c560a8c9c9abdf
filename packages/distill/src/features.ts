import pLimit from 'p-limit';
import sharp from 'sharp';
import { readFile, stat } from 'node:fs/promises';
import { LlmIrError, type OcrLine, type Sample } from '@llm-ir/core';
import { imageOcr } from '@llm-ir/core/challenge';
import { checkImage, resolveImagePath, sha256 } from '@llm-ir/core/io';
import { segmenter } from '@llm-ir/augmentation';
import { hstack, sparseFromMap, type SparseMatrix, type SparseRow } from './sparse.ts';

/** Feature families of the student, each switchable (for ablations). */
export interface FeatureFamilies {
  /** Character 1-3-gram TF-IDF of the customer's turns. @default true */
  userChars?: boolean;
  /** Character 1-3-gram TF-IDF of the customer's last turn (the question the intent is about), beside all of their turns. @default false (the student turns it on for intent rows) */
  lastUserChars?: boolean;
  /** Character 1-3-gram TF-IDF of the agent's turns. @default true */
  agentChars?: boolean;
  /** Character 1-3-gram TF-IDF of the OCR text. @default true */
  ocrChars?: boolean;
  /** jieba word unigram + bigram TF-IDF of customer turns (and OCR text when `ocrChars` is on). @default true */
  words?: boolean;
  /** OCR layout: line count, text-area fraction, where text sits, confidence. @default true */
  layout?: boolean;
  /** Image statistics: aspect ratio, size, colourfulness, edge density, brightness histogram. @default true (needs imagesDir; the student uses them for scene rows only unless set) */
  image?: boolean;
  /** Share of words from each lexicon domain (needs `lexicon`). @default true when a lexicon is given */
  lexicon?: boolean;
}

/** The featurizer's blocks, each weighted by {@link FeatureOptions.blockWeights}. */
export type FeatureBlock = 'user' | 'lastUser' | 'agent' | 'ocr' | 'words' | 'dense';

/** Options of the featurizer. */
export interface FeatureOptions {
  /** Families on or off. */
  families?: FeatureFamilies;
  /** Character n-gram lengths. @default [1, 3] */
  ngramRange?: [number, number];
  /**
   * Weight of each feature block (every TF-IDF block is l2-normalised, so this is its share of a
   * row's norm): `user`, `lastUser`, `agent`, `ocr`, `words`, `dense`. @default 1 each
   */
  blockWeights?: Partial<Record<FeatureBlock, number>>;
  /** Keep n-grams seen in at least this many training rows. @default 2 */
  minDf?: number;
  /**
   * Folder of the images (for image statistics), or several searched in order (e.g. the training and
   * the test folder, when a student learns from both splits' rows).
   */
  imagesDir?: string | readonly string[];
  /** A word -> domain lexicon for lexicon features (e.g. @llm-ir/augmentation's ecommerceLexicon()). */
  lexicon?: { domainOf(word: string): string | undefined; groups: ReadonlyArray<{ domain: string }> };
  /**
   * Called for each image whose statistics cannot be computed (missing, refused by core's image
   * checks, undecodable); its features are then the training mean. Without it such images go unreported.
   */
  onImageError?: (error: LlmIrError) => void;
}

const cut = (t: string) => segmenter().cut(t, true).filter((w) => /[\p{L}\p{N}]/u.test(w));

const clean = (t: string) =>
  t
    .replace(/<ocr>[\s\S]*?<\/ocr>/g, ' ')
    .replace(/<image>/g, '[图]')
    .replace(/<http>/g, '[链]')
    .replace(/<box>[^<]*<\/box>/g, ' ')
    .normalize('NFKC')
    .toLowerCase();

/** The text fields the student reads. */
export function textFields(s: Sample): { user: string; lastUser: string; agent: string; ocr: string } {
  const users = s.turns.filter((t) => t.role === 'user').map((t) => clean(t.text));
  const agent = s.turns.filter((t) => t.role === 'agent').map((t) => clean(t.text)).join('\n');
  return { user: users.join('\n'), lastUser: users.at(-1) ?? '', agent, ocr: ocrLines(s).map((l) => l.text).join(' ').normalize('NFKC').toLowerCase() };
}

/** The text of the jieba word block: customer turns, and OCR text when the OCR block is on. */
const wordsText = (f: ReturnType<typeof textFields>, fam: Pick<FeatureFamilies, 'ocrChars'>) => (fam.ocrChars ? `${f.user}\n${f.ocr}` : f.user);

/** All OCR lines of a sample's images, in image order. */
export function ocrLines(s: Sample): OcrLine[] {
  if (!s.ocr) return [];
  return s.turns.flatMap((t) => t.images).flatMap((img) => imageOcr(s, img) ?? []);
}

interface Vocab {
  index: Map<string, number>;
  idf: Float64Array;
}

function charGrams(text: string, [lo, hi]: [number, number]): Map<string, number> {
  const counts = new Map<string, number>();
  const chars = [...text.replace(/\s+/g, ' ')];
  for (let n = lo; n <= hi; n++) {
    for (let i = 0; i + n <= chars.length; i++) {
      const g = chars.slice(i, i + n).join('');
      if (g.trim() === '') continue;
      counts.set(g, (counts.get(g) ?? 0) + 1);
    }
  }
  return counts;
}

function wordGrams(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const words = cut(text);
  words.forEach((w, i) => {
    counts.set(w, (counts.get(w) ?? 0) + 1);
    if (i > 0) counts.set(`${words[i - 1]} ${w}`, (counts.get(`${words[i - 1]} ${w}`) ?? 0) + 1);
  });
  return counts;
}

function fitVocab(docs: Array<Map<string, number>>, minDf: number): Vocab {
  const df = new Map<string, number>();
  for (const d of docs) for (const t of d.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  const terms = [...df.entries()].filter(([, c]) => c >= minDf).map(([t]) => t).sort();
  const index = new Map(terms.map((t, i) => [t, i]));
  const n = docs.length;
  const idf = Float64Array.from(terms, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
  return { index, idf };
}

/** TF-IDF with sublinear tf and l2 norm (scikit-learn's TfidfVectorizer(sublinear_tf=True)). */
function tfidf(counts: Map<string, number>, v: Vocab): SparseRow {
  const m = new Map<number, number>();
  for (const [t, c] of counts) {
    const i = v.index.get(t);
    if (i !== undefined) m.set(i, (1 + Math.log(c)) * v.idf[i]!);
  }
  let norm = 0;
  for (const x of m.values()) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (const [k, x] of m) m.set(k, x / norm);
  return sparseFromMap(m);
}

const LAYOUT = ['ocr:lines', 'ocr:chars', 'ocr:area', 'ocr:meanY', 'ocr:meanX', 'ocr:top', 'ocr:bottom', 'ocr:conf', 'ocr:has'];
const IMAGE = ['img:count', 'img:aspect', 'img:logArea', 'img:colourful', 'img:edges', 'img:saturation', ...Array.from({ length: 8 }, (_, i) => `img:bright${i}`)];

function layoutFeatures(s: Sample): number[] {
  const lines = ocrLines(s);
  if (lines.length === 0) return [0, 0, 0, 0.5, 0.5, 0, 0, 0, 0];
  const area = lines.reduce((a, l) => a + Math.max(0, l.box[2] - l.box[0]) * Math.max(0, l.box[3] - l.box[1]), 0);
  const cy = lines.map((l) => (l.box[1] + l.box[3]) / 2);
  const cx = lines.map((l) => (l.box[0] + l.box[2]) / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [
    Math.log1p(lines.length),
    Math.log1p(lines.reduce((a, l) => a + l.text.length, 0)),
    Math.min(1, area),
    mean(cy),
    mean(cx),
    cy.filter((y) => y < 0.15).length / lines.length,
    cy.filter((y) => y > 0.85).length / lines.length,
    mean(lines.map((l) => l.confidence)),
    1,
  ];
}

// Image statistics by the sha256 of the image bytes (a file replaced under the same name is read
// anew), at most IMAGE_CACHE_LIMIT entries (the oldest go first).
const IMAGE_CACHE_LIMIT = 8192;
const imageCache = new Map<string, number[]>();
// the same statistics by file (resolved path, size, modification time): a file seen before and not
// changed since is neither decoded, read nor hashed again (prediction reads every image of every row)
const fileCache = new Map<string, number[]>();

/** Stores in one of the bounded caches above, dropping the oldest entry past IMAGE_CACHE_LIMIT. */
function boundedSet(cache: Map<string, number[]>, key: string, stats: number[]): void {
  cache.set(key, stats);
  if (cache.size > IMAGE_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
}

/** The statistics of an image file seen before and unchanged since, if any (no error: the full check reports). */
async function knownFile(dirs: readonly string[], name: string): Promise<{ key: string; stats: number[] | undefined } | undefined> {
  for (const dir of dirs) {
    try {
      const path = await resolveImagePath(dir, name);
      const st = await stat(path);
      if (!st.isFile()) return undefined;
      const key = `${path}\0${st.size}\0${st.mtimeMs}`;
      return { key, stats: fileCache.get(key) };
    } catch {
      // not in this folder (or refused): the next one, then the full check
    }
  }
  return undefined;
}

/** Image statistics of one image on a 64 x 64 thumbnail; undefined (reported through `onImageError`) when it cannot be read. */
async function imageStats(imagesDirs: string | readonly string[], name: string, onImageError?: (error: LlmIrError) => void): Promise<number[] | undefined> {
  const dirs = typeof imagesDirs === 'string' ? [imagesDirs] : imagesDirs;
  let from: string | undefined;
  const known = await knownFile(dirs, name);
  if (known?.stats) return known.stats;
  try {
    let info: Awaited<ReturnType<typeof checkImage>> | undefined;
    for (const [i, dir] of dirs.entries()) {
      try {
        info = await checkImage(dir, name, { decode: false });
        from = dir;
        break;
      } catch (error) {
        if (i === dirs.length - 1) throw error;
      }
    }
    if (!info) return undefined;
    const bytes = await readFile(info.path);
    const key = sha256(bytes);
    const hit = imageCache.get(key);
    const remember = (stats: number[]) => {
      // only under the key of the file these statistics come from (the fast path may have found a
      // copy in an earlier folder that the full check refused)
      if (!known?.key.startsWith(`${info!.path}\0`)) return;
      boundedSet(fileCache, known.key, stats);
    };
    if (hit) {
      imageCache.delete(key);
      imageCache.set(key, hit);
      remember(hit);
      return hit;
    }
    const { data } = await sharp(bytes).autoOrient().flatten({ background: '#fff' }).resize(64, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const hist = new Array<number>(8).fill(0);
    let rg = 0, yb = 0, rg2 = 0, yb2 = 0, sat = 0;
    const luma = new Float64Array(64 * 64);
    for (let p = 0; p < 64 * 64; p++) {
      const r = data[3 * p]!, g = data[3 * p + 1]!, b = data[3 * p + 2]!;
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      luma[p] = y;
      hist[Math.min(7, Math.floor(y / 32))]! += 1 / 4096;
      const a = r - g, c = 0.5 * (r + g) - b;
      rg += a; yb += c; rg2 += a * a; yb2 += c * c;
      const mx = Math.max(r, g, b), mn = Math.min(r, g, b);
      sat += mx === 0 ? 0 : (mx - mn) / mx;
    }
    const n = 4096;
    const colourful = (Math.sqrt(rg2 / n - (rg / n) ** 2 + yb2 / n - (yb / n) ** 2) + 0.3 * Math.sqrt((rg / n) ** 2 + (yb / n) ** 2)) / 100;
    let edges = 0;
    for (let yy = 1; yy < 63; yy++) for (let xx = 1; xx < 63; xx++) {
      const gx = luma[yy * 64 + xx + 1]! - luma[yy * 64 + xx - 1]!;
      const gy = luma[(yy + 1) * 64 + xx]! - luma[(yy - 1) * 64 + xx]!;
      if (Math.hypot(gx, gy) > 40) edges++;
    }
    const stats = [Math.log(info.width / info.height), Math.log(info.width * info.height) / 14, colourful, edges / (62 * 62), sat / n, ...hist];
    boundedSet(imageCache, key, stats);
    remember(stats);
    return stats;
  } catch (error) {
    // the image's statistics are left at the training mean (zero after scaling); the caller hears of
    // it, with the reason core's full check gives (truncated, corrupt) when the decoder failed
    let typed = LlmIrError.isInstance(error) ? error : undefined;
    if (!typed && from !== undefined) typed = await checkImage(from, name).then(() => undefined, (e: unknown) => (LlmIrError.isInstance(e) ? e : undefined));
    onImageError?.(typed ?? new LlmIrError({ code: 'image-unreadable', message: `${name}: ${(error as Error).message}`, file: name, cause: error }));
    return undefined;
  }
}

interface DenseScaler {
  names: string[];
  mean: Float64Array;
  std: Float64Array;
}

/** A fitted featurizer: vocabularies, idf, dense-feature scaling. Serialisable to JSON. */
export interface Featurizer {
  /** Total feature columns. */
  readonly dim: number;
  /** Column ranges per family (for inspection). */
  readonly ranges: Record<string, [number, number]>;
  /** Turns samples into sparse rows. */
  transform(samples: readonly Sample[]): Promise<SparseMatrix>;
  /** JSON-serialisable state. */
  toJSON(): unknown;
}

type State = {
  options: Omit<FeatureOptions, 'lexicon' | 'imagesDir' | 'onImageError'> & { families: Required<FeatureFamilies> };
  vocabs: Record<string, { terms: string[]; idf: number[] }>;
  dense: { names: string[]; mean: number[]; std: number[] } | undefined;
  domains: string[];
};

function resolveFamilies(o: FeatureOptions): Required<FeatureFamilies> {
  const f = o.families ?? {};
  return {
    userChars: f.userChars ?? true,
    lastUserChars: f.lastUserChars ?? false,
    agentChars: f.agentChars ?? true,
    ocrChars: f.ocrChars ?? true,
    words: f.words ?? true,
    layout: f.layout ?? true,
    image: (f.image ?? true) && o.imagesDir !== undefined,
    lexicon: (f.lexicon ?? true) && o.lexicon !== undefined,
  };
}

async function denseRaw(s: Sample, fam: Required<FeatureFamilies>, o: FeatureOptions, domains: string[]): Promise<number[]> {
  const out: number[] = [];
  if (fam.layout) out.push(...layoutFeatures(s));
  if (fam.image) {
    const names = s.turns.flatMap((t) => t.images.map((i) => i.path));
    // unreadable images reported in image order, whatever order their reads finish in
    const errors: Array<LlmIrError | undefined> = names.map(() => undefined);
    const stats = (await Promise.all(names.map((n, j) => imageStats(o.imagesDir!, n, (e) => (errors[j] = e))))).filter((x): x is number[] => x !== undefined);
    for (const e of errors) if (e) o.onImageError?.(e);
    const mean = stats.length ? stats[0]!.map((_, j) => stats.reduce((a, st) => a + st[j]!, 0) / stats.length) : new Array(IMAGE.length - 1).fill(0);
    out.push(Math.log1p(names.length), ...mean);
  }
  if (fam.lexicon) {
    const f = textFields(s);
    const words = cut(`${f.user} ${f.ocr}`);
    const counts = new Map<string, number>();
    for (const w of words) {
      const d = o.lexicon!.domainOf(w);
      if (d !== undefined) counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    out.push(...domains.map((d) => (counts.get(d) ?? 0) / Math.max(1, words.length)));
  }
  return out;
}

/**
 * The dense features of many rows, DENSE_CONCURRENCY rows at a time (image reads and decodes overlap
 * on libuv's pool); unreadable images are reported through `onImageError` in row order, whatever
 * order the reads finish in, so a run's errors file is the same every time.
 */
async function denseAll(samples: readonly Sample[], fam: Required<FeatureFamilies>, o: FeatureOptions, domains: string[]): Promise<number[][]> {
  const limit = pLimit(DENSE_CONCURRENCY);
  const errors = samples.map(() => [] as LlmIrError[]);
  const raws = await Promise.all(samples.map((s, i) => limit(() => denseRaw(s, fam, { ...o, onImageError: (e) => errors[i]!.push(e) }, domains))));
  if (o.onImageError) for (const e of errors.flat()) o.onImageError(e);
  return raws;
}
const DENSE_CONCURRENCY = 16;

function build(state: State, o: FeatureOptions): Featurizer {
  const fam = state.options.families;
  const vocabs: Record<string, Vocab> = {};
  for (const [name, v] of Object.entries(state.vocabs)) vocabs[name] = { index: new Map(v.terms.map((t, i) => [t, i])), idf: Float64Array.from(v.idf) };
  const scaler: DenseScaler | undefined = state.dense ? { names: state.dense.names, mean: Float64Array.from(state.dense.mean), std: Float64Array.from(state.dense.std) } : undefined;
  const ranges: Record<string, [number, number]> = {};
  let offset = 0;
  for (const name of Object.keys(vocabs)) {
    ranges[name] = [offset, offset + vocabs[name]!.index.size];
    offset += vocabs[name]!.index.size;
  }
  if (scaler) {
    ranges['dense'] = [offset, offset + scaler.names.length];
    offset += scaler.names.length;
  }
  const dim = offset;
  const range = state.options.ngramRange ?? [1, 3];
  const weight = (block: FeatureBlock) => state.options.blockWeights?.[block] ?? 1;
  const weighted = (row: SparseRow, block: FeatureBlock): SparseRow => {
    const w = weight(block);
    return w === 1 ? row : { ...row, values: row.values.map((v) => v * w) };
  };
  return {
    dim,
    ranges,
    async transform(samples) {
      const rows: SparseRow[] = [];
      const dense = scaler ? await denseAll(samples, fam, o, state.domains) : [];
      for (const [i, s] of samples.entries()) {
        const f = textFields(s);
        const parts: Array<{ row: SparseRow; offset: number }> = [];
        if (vocabs['user']) parts.push({ row: weighted(tfidf(charGrams(f.user, range), vocabs['user']), 'user'), offset: ranges['user']![0] });
        if (vocabs['lastUser']) parts.push({ row: weighted(tfidf(charGrams(f.lastUser, range), vocabs['lastUser']), 'lastUser'), offset: ranges['lastUser']![0] });
        if (vocabs['agent']) parts.push({ row: weighted(tfidf(charGrams(f.agent, range), vocabs['agent']), 'agent'), offset: ranges['agent']![0] });
        if (vocabs['ocr']) parts.push({ row: weighted(tfidf(charGrams(f.ocr, range), vocabs['ocr']), 'ocr'), offset: ranges['ocr']![0] });
        if (vocabs['words']) parts.push({ row: weighted(tfidf(wordGrams(wordsText(f, fam)), vocabs['words']), 'words'), offset: ranges['words']![0] });
        if (scaler) {
          const raw = dense[i]!;
          // standardised, then scaled so the block's expected norm is 1, like each TF-IDF block:
          // unscaled, a dozen dense columns outweigh the text and the model overfits them
          const scale = weight('dense') / Math.sqrt(raw.length);
          const m = new Map<number, number>();
          raw.forEach((x, j) => m.set(j, scale * ((x - scaler.mean[j]!) / scaler.std[j]!)));
          parts.push({ row: sparseFromMap(m), offset: ranges['dense']![0] });
        }
        rows.push(hstack(parts));
      }
      return { rows, cols: dim };
    },
    toJSON: () => state,
  };
}

/** Learns vocabularies, idf and dense scaling from training samples. */
export async function fitFeaturizer(samples: readonly Sample[], options: FeatureOptions = {}): Promise<Featurizer> {
  const families = resolveFamilies(options);
  const range = options.ngramRange ?? [1, 3];
  const minDf = options.minDf ?? 2;
  const fields = samples.map(textFields);
  const vocabs: State['vocabs'] = {};
  const add = (name: string, docs: Array<Map<string, number>>) => {
    const v = fitVocab(docs, minDf);
    vocabs[name] = { terms: [...v.index.keys()], idf: Array.from(v.idf) };
  };
  if (families.userChars) add('user', fields.map((f) => charGrams(f.user, range)));
  if (families.lastUserChars) add('lastUser', fields.map((f) => charGrams(f.lastUser, range)));
  if (families.agentChars) add('agent', fields.map((f) => charGrams(f.agent, range)));
  if (families.ocrChars) add('ocr', fields.map((f) => charGrams(f.ocr, range)));
  if (families.words) add('words', fields.map((f) => wordGrams(wordsText(f, families))));
  const domains = families.lexicon ? [...new Set(options.lexicon!.groups.map((g) => g.domain))].sort() : [];
  let dense: State['dense'];
  if (families.layout || families.image || families.lexicon) {
    const raws = await denseAll(samples, families, options, domains);
    const names = [...(families.layout ? LAYOUT : []), ...(families.image ? IMAGE : []), ...domains.map((d) => `lex:${d}`)];
    const mean = names.map((_, j) => raws.reduce((a, r) => a + r[j]!, 0) / Math.max(1, raws.length));
    const std = names.map((_, j) => Math.sqrt(raws.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / Math.max(1, raws.length)) || 1);
    dense = { names, mean, std };
  }
  const { lexicon: _l, imagesDir: _i, onImageError: _e, ...rest } = options;
  return build({ options: { ...rest, families }, vocabs, dense, domains }, options);
}

/**
 * Restores a featurizer from its JSON state (images and lexicon are given again: they are not stored).
 *
 * @throws {LlmIrError} `config-invalid` when the state uses image statistics or lexicon features and
 * `imagesDir` or `lexicon` is not given.
 */
export function loadFeaturizer(state: unknown, options: Pick<FeatureOptions, 'imagesDir' | 'lexicon' | 'onImageError'> = {}): Featurizer {
  const s = state as State;
  if (s.options?.families?.image && options.imagesDir === undefined) throw new LlmIrError({ code: 'config-invalid', message: 'this model was trained with image statistics: pass imagesDir (the folder of the images of the rows to predict)' });
  if (s.options?.families?.lexicon && options.lexicon === undefined) throw new LlmIrError({ code: 'config-invalid', message: 'this model was trained with lexicon features: pass the same lexicon (e.g. @llm-ir/augmentation\'s ecommerceLexicon())' });
  return build(s, options);
}
