import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelSetOf, LlmIrError, type Classifier, type FitOptions, type Prediction, type Sample, type StageContext } from '@llm-ir/core';
import { fitHashingEmbedder, type Embedder } from './embedders.ts';
import { queryText } from './text.ts';
import { openRagIndex, type RagIndex } from './rag-index.ts';

/** Options of {@link knnClassifier}. */
export interface KnnOptions {
  /** Neighbours voting. @default 10 */
  k?: number;
  /** Embedder. @default TF-IDF feature hashing fitted on the training samples */
  embedder?: Embedder;
  /** Search mode for neighbours. @default 'vector' */
  mode?: 'vector' | 'hybrid';
  /** Votes are similarity^power. @default 2 */
  power?: number;
  /** Probability mass spread over all labels of the task (so none is 0). @default 0.01 */
  smoothing?: number;
  /** Where the index lives. @default a temporary folder */
  uri?: string;
}

/**
 * A k-nearest-neighbour classifier over LanceDB: `fit` indexes the labelled samples as exemplars;
 * `predictProba` searches each sample's k nearest exemplars of the same task (never its own
 * lineage, so predicting on training rows is leave-one-lineage-out) and turns similarity-weighted
 * votes into label probabilities over the task's label set. Implements core's `Classifier`.
 */
export function knnClassifier(options: KnnOptions = {}): Classifier & { index(): RagIndex | undefined; close(): Promise<void> } {
  const k = options.k ?? 10;
  const power = options.power ?? 2;
  const smoothing = options.smoothing ?? 0.01;
  let index: RagIndex | undefined;
  let tempDir: string | undefined;
  return {
    index: () => index,
    async fit(samples: readonly Sample[], fit: FitOptions = {}) {
      if (index) await index.close();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      tempDir = options.uri ? undefined : await mkdtemp(join(tmpdir(), 'llm-ir-knn-'));
      // default: TF-IDF feature hashing fitted on the training texts
      const embedder = options.embedder ?? fitHashingEmbedder(samples.map((s) => queryText(s)));
      index = await openRagIndex({ uri: options.uri ?? join(tempDir!, 'db'), embedder });
      await index.upsertExemplars(samples.filter((s) => s.label !== undefined), { ...(fit.onProgress ? { onProgress: fit.onProgress } : {}), ...(fit.signal ? { signal: fit.signal } : {}) });
    },
    async predictProba(samples: readonly Sample[], opts = {}): Promise<Prediction[]> {
      if (!index) throw new LlmIrError({ code: 'config-invalid', message: 'knnClassifier: call fit() before predictProba()' });
      const out: Prediction[] = [];
      for (const s of samples) {
        opts.signal?.throwIfAborted();
        const hits = await index.search(s, { table: 'exemplars', mode: options.mode ?? 'vector', k, filter: { task: s.task }, excludeLineageOf: s });
        const names = labelSetOf(s.task).names;
        const votes = new Map<string, number>(names.map((n) => [n, 0]));
        let total = 0;
        for (const h of hits) {
          const label = String(h.fields['label']);
          const w = Math.max(0, h.score) ** power;
          votes.set(label, (votes.get(label) ?? 0) + w);
          total += w;
        }
        const probs: Record<string, number> = {};
        for (const [label, v] of votes) probs[label] = (1 - smoothing) * (total > 0 ? v / total : 1 / votes.size) + smoothing / votes.size;
        const label = [...votes.keys()].reduce((a, b) => (probs[b]! > probs[a]! ? b : a));
        out.push({ id: s.id, task: s.task, label, probs });
      }
      return out;
    },
    async close() {
      await index?.close();
      index = undefined;
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      tempDir = undefined;
    },
  };
}

/**
 * The retrieval stage of a pipeline: a {@link knnClassifier} fitted on the `train` rows (its labelled
 * ones are the exemplars; the default embedder is fitted on all of them) predicts label probabilities
 * for the `test` rows. The LanceDB table lives in a temporary folder removed afterwards, or at
 * `options.uri` (then kept).
 * Progress goes to `ctx.onProgress`; `ctx.signal` cancels it.
 *
 * @example
 * ```ts
 * const neighbours = await knnStage(ctx, { train, test }, { k: 10 });
 * ```
 */
export async function knnStage(ctx: StageContext, input: { train: readonly Sample[]; test: readonly Sample[] }, options: KnnOptions = {}): Promise<Prediction[]> {
  const knn = knnClassifier(options);
  const run = { ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
  try {
    await knn.fit(input.train, run);
    return await knn.predictProba(input.test, run);
  } finally {
    await knn.close();
  }
}
