import { appendFile, mkdir, open, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { labelSetOf, LlmIrError, readPredictionsJsonl, readSubmissionCsv, type Classifier, type ProgressCallback, type Prediction, type Sample } from '@llm-ir/core';
import { matchLabel, renderInstruction } from '@llm-ir/core/challenge';
import { checkImage, hashValue, readJsonl } from '@llm-ir/core/io';
import { startProgress } from '@llm-ir/core/run';
import { createChatClient, type ChatClient, type ChatClientOptions, type ChatResponse } from './openai-client.ts';

/** Labels samples with a label and, where it can, a probability per label. */
export interface Teacher {
  /** Name and settings. */
  readonly id: string;
  /** Labels the samples (in input order; rows it could not label are left out of the result). */
  label(samples: readonly Sample[], options?: TeacherRunOptions): Promise<Prediction[]>;
}

/** Options of a labelling run. */
export interface TeacherRunOptions {
  /** Cancels the run (finished rows stay in the journal). */
  signal?: AbortSignal;
  /** Progress events (`stage: 'teacher'`). */
  onProgress?: ProgressCallback;
  /** Called for each row that could not be labelled. */
  onError?: (id: string, error: LlmIrError) => void;
}

/** Letter codes the labels are presented with: single tokens in every tokenizer. */
export const LABEL_CODES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');

/** Options of {@link openaiTeacher}. */
export interface OpenAITeacherOptions extends ChatClientOptions {
  /** Model name on the server (a LoRA adapter name on vLLM). */
  model: string;
  /** Folder of the images; without it images are not sent. */
  imagesDir?: string;
  /** Largest image size in pixels sent (images are resized down to it). @default 401408 (Qwen2-VL's 512 x 28 x 28) */
  imageMaxPixels?: number;
  /**
   * How label probabilities are obtained: `logprobs` (labels presented as letters A, B, ...; one token
   * generated; the letters' top logprobs renormalised), `votes` (n sampled answers counted), or
   * `none` (the answer alone, probability 1). `logprobs` falls back to `votes` when the server
   * returns none. @default 'logprobs'
   */
  probabilities?: 'logprobs' | 'votes' | 'none';
  /**
   * How the answer is constrained: vLLM's `structured_outputs: {choice}` (v0.12+), the legacy
   * `guided_choice` (vLLM before 0.12), OpenAI's `response_format` JSON schema with an enum, or none.
   * Note: vLLM masks logprobs under a constraint; with `logprobs` the default sends none. @default 'none' with logprobs, else 'structured_outputs'
   */
  constraint?: 'structured_outputs' | 'guided_choice' | 'response_format' | 'none';
  /** Sampled answers in `votes` mode. @default 5 */
  votes?: number;
  /** top_logprobs asked for. @default 20 */
  topLogprobs?: number;
  /** JSONL journal: finished rows are appended; a rerun skips them (resumes where a killed run stopped). */
  journal?: string;
}

/** What a teacher's prompt for a row is made of (its text, images by name, label list, label coding): the journal's key. */
function promptIdentity(sample: Sample, letters: boolean): unknown {
  return { task: sample.task, prompt: sample.prompt ?? null, turns: sample.turns.map((t) => [t.role, t.text, t.images.map((i) => i.path)]), labels: sample.prompt?.labels ?? null, letters };
}

/** The label of highest probability among `labels` (the first of equals). */
function topLabel(probs: Readonly<Record<string, number>>, labels: readonly string[]): string {
  return labels.reduce((a, b) => ((probs[b] ?? 0) > (probs[a] ?? 0) ? b : a));
}

/** Encodes an image as a JPEG data URL no larger than `maxPixels`. */
export async function imageDataUrl(path: string, maxPixels: number): Promise<string> {
  const img = sharp(path).autoOrient();
  const meta = await img.metadata();
  const w = meta.autoOrient?.width ?? meta.width ?? 1;
  const h = meta.autoOrient?.height ?? meta.height ?? 1;
  const scale = w * h > maxPixels ? Math.sqrt(maxPixels / (w * h)) : 1;
  const data = await img.resize({ width: Math.max(1, Math.floor(w * scale)), height: Math.max(1, Math.floor(h * scale)) }).flatten({ background: '#fff' }).jpeg({ quality: 90 }).toBuffer();
  return `data:image/jpeg;base64,${data.toString('base64')}`;
}

/**
 * The chat messages for a sample: the challenge instruction with each `<image>` replaced by an
 * image part (data URL), and, with letter codes, the label list restated as `A. label` lines and
 * the request to answer with the letter only.
 */
export async function buildMessages(sample: Sample, options: { imagesDir?: string; imageMaxPixels?: number; letters?: boolean }): Promise<Array<Record<string, unknown>>> {
  let text = renderInstruction(sample);
  const labels = sample.prompt?.labels ?? [...labelSetOf(sample.task).names];
  if (options.letters) {
    text += `\n标签编号：\n${labels.map((l, i) => `${LABEL_CODES[i]}. ${l}`).join('\n')}\n请只输出一个标签编号（一个大写字母）。`;
  }
  const parts: Array<Record<string, unknown>> = [];
  const pieces = text.split('<image>');
  const images = sample.turns.flatMap((t) => t.images);
  for (const [i, piece] of pieces.entries()) {
    if (piece) parts.push({ type: 'text', text: piece });
    if (i < pieces.length - 1) {
      const img = images[i];
      if (img && options.imagesDir !== undefined) {
        const info = await checkImage(options.imagesDir, img.path);
        parts.push({ type: 'image_url', image_url: { url: await imageDataUrl(info.path, options.imageMaxPixels ?? 401_408) } });
      } else parts.push({ type: 'text', text: '[图片]' });
    }
  }
  return [{ role: 'user', content: parts }];
}

function constraintFields(kind: NonNullable<OpenAITeacherOptions['constraint']>, choices: string[]): Record<string, unknown> {
  switch (kind) {
    case 'structured_outputs':
      return { structured_outputs: { choice: choices } };
    case 'guided_choice':
      return { guided_choice: choices };
    case 'response_format':
      return { response_format: { type: 'json_schema', json_schema: { name: 'label', strict: true, schema: { type: 'object', properties: { label: { type: 'string', enum: choices } }, required: ['label'], additionalProperties: false } } } };
    default:
      return {};
  }
}

function answerText(content: string | null | undefined, constraint: string): string {
  const text = (content ?? '').trim();
  if (constraint === 'response_format') {
    try {
      return String((JSON.parse(text) as { label?: unknown }).label ?? '');
    } catch {
      return text;
    }
  }
  return text;
}

/** Label probabilities from the top logprobs of the first generated token (letters renormalised). */
export function probsFromLogprobs(response: ChatResponse, labels: readonly string[]): Record<string, number> | undefined {
  const first = response.choices[0]?.logprobs?.content?.[0];
  if (!first) return undefined;
  const tops = [...(first.top_logprobs ?? []), { token: first.token, logprob: first.logprob }];
  const mass = new Map<number, number>();
  for (const t of tops) {
    const code = t.token.trim().replace(/^[.。:：]/, '');
    const i = LABEL_CODES.indexOf(code);
    if (i >= 0 && i < labels.length && !mass.has(i)) mass.set(i, Math.exp(t.logprob));
  }
  const total = [...mass.values()].reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  return Object.fromEntries(labels.map((l, i) => [l, (mass.get(i) ?? 0) / total]));
}

/**
 * A teacher behind any OpenAI-compatible chat endpoint: vLLM serving a fine-tuned or larger
 * Qwen-VL, DashScope, OpenAI. Sends the challenge prompt with image parts, constrains the answer,
 * reads label probabilities from logprobs (or counts sampled votes), retries 429 / 5xx / timeouts
 * with backoff, and journals finished rows so a killed run resumes without labelling a row twice.
 * The API key comes from `apiKeyEnv` and never appears in logs, errors or journals.
 */
export function openaiTeacher(options: OpenAITeacherOptions, client: ChatClient = createChatClient(options)): Teacher & { client: ChatClient } {
  const mode = options.probabilities ?? 'logprobs';
  const constraint = options.constraint ?? (mode === 'logprobs' ? 'none' : 'structured_outputs');
  const id = `openai(${options.model}@${options.baseURL},${mode},${constraint})`;

  async function labelOne(sample: Sample, signal?: AbortSignal): Promise<Prediction> {
    const labels = sample.prompt?.labels ?? [...labelSetOf(sample.task).names];
    const letters = mode === 'logprobs';
    const messages = await buildMessages(sample, { ...(options.imagesDir !== undefined ? { imagesDir: options.imagesDir } : {}), ...(options.imageMaxPixels ? { imageMaxPixels: options.imageMaxPixels } : {}), letters });
    const set = labelSetOf(sample.task);
    const pick = (text: string): string | undefined => {
      if (letters) {
        const i = LABEL_CODES.indexOf(text.trim().charAt(0));
        if (i >= 0 && i < labels.length) return labels[i];
      }
      const m = matchLabel(text, set);
      return m.ok ? m.label : undefined;
    };
    if (mode === 'logprobs') {
      const r = await client.complete(
        { model: options.model, messages, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: options.topLogprobs ?? 20, ...constraintFields(constraint, LABEL_CODES.slice(0, labels.length)) },
        signal ? { signal } : {},
      );
      const probs = probsFromLogprobs(r, labels);
      if (probs) {
        const label = topLabel(probs, labels);
        return { id: sample.id, task: sample.task, label, probs };
      }
      // no logprobs from this server (whatever it answered): count votes instead, as documented
      return votesFor(sample, { messages, labels, pick }, signal);
    }
    if (mode === 'votes') return votesFor(sample, { messages, labels, pick }, signal);
    const r = await client.complete({ model: options.model, messages, temperature: 0, max_tokens: 64, ...constraintFields(constraint, labels) }, signal ? { signal } : {});
    const label = pick(answerText(r.choices[0]?.message?.content, constraint));
    if (!label) throw new LlmIrError({ code: 'unmatched-answer', message: `answer ${JSON.stringify(r.choices[0]?.message?.content)} is no label`, id: sample.id });
    return { id: sample.id, task: sample.task, label, probs: Object.fromEntries(labels.map((l) => [l, l === label ? 1 : 0])) };
  }

  async function votesFor(sample: Sample, { messages, labels, pick }: { messages: Array<Record<string, unknown>>; labels: string[]; pick: (t: string) => string | undefined }, signal?: AbortSignal): Promise<Prediction> {
    const n = options.votes ?? 5;
    const c = constraint === 'none' ? 'none' : constraint;
    const r = await client.complete({ model: options.model, messages, n, temperature: 1, max_tokens: 64, ...constraintFields(c, labels) }, signal ? { signal } : {});
    const counts = new Map<string, number>();
    for (const ch of r.choices) {
      const l = pick(answerText(ch.message?.content, c));
      if (l) counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    if (total === 0) throw new LlmIrError({ code: 'unmatched-answer', message: `no sampled answer is a label (answers: ${r.choices.slice(0, 5).map((ch) => JSON.stringify(String(ch.message?.content ?? '').slice(0, 80))).join(', ')})`, id: sample.id });
    const probs = Object.fromEntries(labels.map((l) => [l, (counts.get(l) ?? 0) / total]));
    return { id: sample.id, task: sample.task, label: topLabel(probs, labels), probs };
  }

  return {
    id,
    client,
    async label(samples, run = {}) {
      const done = new Map<string, Prediction>();
      // a journal entry answers a row only for the same teacher (model, server, mode) and the same
      // prompt: a rerun with another model or changed rows asks again
      const keyOf = new Map(samples.map((s) => [s.id, hashValue({ teacher: id, prompt: promptIdentity(s, mode === 'logprobs') })]));
      if (options.journal) {
        await mkdir(dirname(options.journal), { recursive: true });
        const wanted = new Map([...keyOf].map(([rowId, key]) => [key, rowId]));
        try {
          for await (const r of readJsonl<{ key?: string; prediction?: Prediction }>(options.journal)) {
            const rowId = r.ok && r.value.key ? wanted.get(r.value.key) : undefined;
            if (rowId !== undefined && r.ok && r.value.prediction?.id === rowId) done.set(rowId, r.value.prediction);
          }
        } catch (error) {
          if (!LlmIrError.isInstance(error) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        // a killed run can leave a torn last line: end it, so the next answer starts a line of its own
        const size = await stat(options.journal).then((st) => st.size, () => 0);
        if (size > 0) {
          const handle = await open(options.journal, 'r');
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, size - 1);
          await handle.close();
          if (last[0] !== 0x0a) await appendFile(options.journal, '\n');
        }
      }
      const todo = samples.filter((s) => !done.has(s.id));
      const progress = startProgress('teacher', run.onProgress, { total: samples.length, unit: 'row' });
      progress.advance(samples.length - todo.length);
      let journalChain = Promise.resolve();
      // at most `concurrency` rows in work at once, image encoding included (each row's images are
      // base64 data URLs: encoding them all up front grew memory with the number of rows)
      const limit = pLimit(Math.max(1, options.concurrency ?? 4));
      // allSettled, not all: on cancel, rows already answered finish their journal write before we
      // reject, so the journal holds every row that was paid for and a rerun asks for none twice.
      const settled = await Promise.allSettled(
        todo.map((s) => limit(async () => {
          run.signal?.throwIfAborted();
          try {
            const p = await labelOne(s, run.signal);
            done.set(s.id, p);
            if (options.journal) {
              const line = `${JSON.stringify({ key: keyOf.get(s.id), teacher: id, prediction: p })}\n`;
              journalChain = journalChain.then(() => appendFile(options.journal!, line));
              await journalChain;
            }
            progress.advance();
          } catch (error) {
            if (run.signal?.aborted) throw error;
            const e = LlmIrError.isInstance(error) ? error : new LlmIrError({ code: 'teacher-failed', message: String((error as Error).message), id: s.id });
            run.onError?.(s.id, e);
            progress.fail();
          }
        })),
      );
      const cancelled = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (cancelled) throw cancelled.reason;
      progress.end();
      return samples.map((s) => done.get(s.id)).filter((p): p is Prediction => p !== undefined);
    },
  };
}

/** A teacher that reads predictions made elsewhere: predictions JSONL (with probabilities) or a submission CSV. */
export function fileTeacher(path: string): Teacher {
  return {
    id: `file(${path})`,
    async label(samples) {
      const byId = new Map<string, Prediction>();
      if (extname(path).toLowerCase() === '.csv') {
        const tasks = new Map(samples.map((s) => [s.id, s.task]));
        for await (const r of readSubmissionCsv(path)) {
          if (!r.ok) throw r.error;
          const task = tasks.get(r.value.id);
          if (task) byId.set(r.value.id, { id: r.value.id, task, label: r.value.predict, probs: { [r.value.predict]: 1 } });
        }
      } else {
        for await (const r of readPredictionsJsonl(path)) {
          if (!r.ok) throw r.error;
          byId.set(r.value.id, r.value);
        }
      }
      return samples.map((s) => byId.get(s.id)).filter((p): p is Prediction => p !== undefined).map((p) => ({ ...p, task: samples.find((s) => s.id === p.id)!.task }));
    },
  };
}

/** A teacher from any core `Classifier` (e.g. rag-index's kNN, or a heavier student). */
export function localTeacher(classifier: Classifier, name = 'local'): Teacher {
  return { id: `local(${name})`, label: (samples, run = {}) => classifier.predictProba(samples, run.signal ? { signal: run.signal } : {}) };
}

/**
 * Averages the probabilities of several teachers (optionally weighted). `agreement` holds, per row
 * id, the share of teachers whose top label is the ensemble's (a confidence signal for pseudo-labels).
 */
export function ensembleTeacher(teachers: readonly Teacher[], weights?: readonly number[]): Teacher & { agreement: Map<string, number> } {
  const agreement = new Map<string, number>();
  return {
    id: `ensemble(${teachers.map((t) => t.id).join(',')})`,
    agreement,
    async label(samples, run = {}) {
      const all = await Promise.all(teachers.map((t) => t.label(samples, run)));
      const maps = all.map((preds) => new Map(preds.map((p) => [p.id, p])));
      const out: Prediction[] = [];
      for (const s of samples) {
        const probs = new Map<string, number>();
        let wsum = 0;
        const tops: string[] = [];
        maps.forEach((m, t) => {
          const p = m.get(s.id);
          if (!p) return;
          const w = weights?.[t] ?? 1;
          wsum += w;
          tops.push(p.label);
          for (const [l, v] of Object.entries(p.probs ?? { [p.label]: 1 })) probs.set(l, (probs.get(l) ?? 0) + w * v);
        });
        if (wsum === 0) continue;
        const norm = Object.fromEntries([...probs.entries()].map(([l, v]) => [l, v / wsum]));
        const label = topLabel(norm, Object.keys(norm));
        agreement.set(s.id, tops.filter((t) => t === label).length / tops.length);
        out.push({ id: s.id, task: s.task, label, probs: norm });
      }
      return out;
    },
  };
}
