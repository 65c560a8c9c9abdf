import { LlmIrError } from './errors.ts';
import { INTENT_LABELS, SCENE_LABELS, labelSetOf } from './labels.ts';
import type { ChallengeRow, ImageRef, OcrLine, PromptFrame, Sample, Task, Turn } from './types.ts';

/** The image placeholder of the challenge prompts. */
export const IMAGE_PLACEHOLDER = '<image>';
/** Marks the start of the dialogue in intent prompts. */
export const DIALOGUE_START = '<用户与客服的对话 START>';
/** Marks the end of the dialogue in intent prompts. */
export const DIALOGUE_END = '<用户与客服的对话 END>';

const ROLE_PREFIX = { user: '用户: ', agent: '客服: ' } as const;
const ROLE_LINE = /^(用户|客服): /;

/** The official intent prompt, used for samples that carry no prompt frame of their own. */
export const OFFICIAL_INTENT_FRAME: PromptFrame = {
  head: `你是一个电商客服专家，请根据用户与客服的多轮对话判断用户的意图分类标签。\n${DIALOGUE_START}\n`,
  beforeLabels: `${DIALOGUE_END}\n请直接只输出分类标签结果，不需要其他多余的话。以下是可以参考的分类标签为：`,
  labels: [...INTENT_LABELS.names],
  tail: '\n',
};

/** The official scene prompt, used for samples that carry no prompt frame of their own. */
export const OFFICIAL_SCENE_FRAME: PromptFrame = {
  head: 'Picture 1: ',
  beforeLabels:
    '\n你是一个电商领域识图专家,可以理解消费者上传的软件截图或实物拍摄图。现在,请你对消费者上传的图片进行分类。你只需要回答图片分类结果,不需要其他多余的话。以下是可以参考的分类标签,分类标签:',
  labels: [...SCENE_LABELS.names],
  tail: '。',
};

/** Where a row came from, for error messages. */
export interface RowLocation {
  /** File the row was read from. */
  file?: string;
  /** Zero-based index of the row in its file. */
  row?: number;
}

/** Counts `<image>` placeholders in a text. */
export function countPlaceholders(text: string): number {
  let n = 0;
  for (let i = text.indexOf(IMAGE_PLACEHOLDER); i !== -1; i = text.indexOf(IMAGE_PLACEHOLDER, i + 1)) n++;
  return n;
}

/** Decides the task of a challenge instruction: dialogue markers mean intent, else an image means scene. */
export function detectTask(instruction: string): Task | undefined {
  if (instruction.includes(DIALOGUE_START) && instruction.includes(DIALOGUE_END)) return 'intent';
  if (instruction.includes(IMAGE_PLACEHOLDER)) return 'scene';
  return undefined;
}

function fail(at: RowLocation & { id: string | undefined; field?: string }, code: string, message: string): never {
  const { id, field = 'instruction', ...loc } = at;
  throw new LlmIrError({ code, message, ...loc, ...(id === undefined ? {} : { id }), field });
}

/** Finds the label list: the last `[...]` of the prompt that is a JSON array of strings. */
function splitLabels(text: string, loc: RowLocation, id: string): { before: string; labels: string[]; tail: string } {
  const close = text.lastIndexOf(']');
  let open = close === -1 ? -1 : text.lastIndexOf('[', close);
  while (open !== -1) {
    try {
      const labels: unknown = JSON.parse(text.slice(open, close + 1));
      if (Array.isArray(labels) && labels.length > 0 && labels.every((l) => typeof l === 'string')) {
        return { before: text.slice(0, open), labels: labels as string[], tail: text.slice(close + 1) };
      }
    } catch {
      // not JSON yet: the list may contain '[' itself; look further left
    }
    open = text.lastIndexOf('[', open - 1);
  }
  return fail({ ...loc, id }, 'invalid-format', 'no label list ["...","..."] found in the prompt');
}

function bindImages(turns: Turn[], images: readonly string[], loc: RowLocation, id: string): void {
  let next = 0;
  for (const turn of turns) {
    const n = countPlaceholders(turn.text);
    turn.images = images.slice(next, next + n).map((path): ImageRef => ({ path }));
    next += n;
  }
  if (next !== images.length) {
    fail({ ...loc, id, field: 'image' }, 'placeholder-mismatch', `${next} <image> placeholder(s) but ${images.length} image(s) listed`);
  }
}

/**
 * Parses one challenge row into a {@link Sample}: the task from the prompt, the turns from the
 * `用户:` / `客服:` lines between the START/END markers (scene rows: one user turn holding the
 * image), `<image>` placeholders bound in order to the row's `image` list, the offered labels and
 * the prompt around the content (so {@link writeChallengeRow} gives back the same row).
 *
 * @throws {LlmIrError} `invalid-row`, `invalid-format`, `placeholder-mismatch`, `empty-dialogue`.
 * @example
 * ```ts
 * const sample = parseChallengeRow(row, { file: 'train.json', row: 0 });
 * sample.task; // 'intent'
 * ```
 */
export function parseChallengeRow(row: unknown, loc: RowLocation = {}): Sample {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    return fail({ ...loc, id: undefined, field: '' }, 'invalid-row', 'row is not a JSON object');
  }
  const r = row as Record<string, unknown>;
  const id = r['id'];
  if (typeof id !== 'string' || id === '') return fail({ ...loc, id: undefined, field: 'id' }, 'invalid-row', 'missing or non-string "id"');
  const instruction = r['instruction'];
  if (typeof instruction !== 'string') return fail({ ...loc, id }, 'invalid-row', 'missing or non-string "instruction"');
  const images = r['image'] ?? [];
  if (!Array.isArray(images) || !images.every((x) => typeof x === 'string')) {
    return fail({ ...loc, id, field: 'image' }, 'invalid-row', '"image" is not a list of file names');
  }
  const input = r['input'] ?? '';
  if (typeof input !== 'string') return fail({ ...loc, id, field: 'input' }, 'invalid-row', '"input" is not a string');
  const output = r['output'] ?? '';
  if (typeof output !== 'string') return fail({ ...loc, id, field: 'output' }, 'invalid-row', '"output" is not a string');

  const task = detectTask(instruction);
  if (task === undefined) return fail({ ...loc, id }, 'invalid-format', 'prompt has neither dialogue markers nor an <image>');
  const { before, labels, tail } = splitLabels(instruction, loc, id);

  let frame: PromptFrame;
  let turns: Turn[];
  if (task === 'intent') {
    const start = before.indexOf(DIALOGUE_START);
    const end = before.lastIndexOf(DIALOGUE_END);
    if (start === -1 || end === -1 || end < start) return fail({ ...loc, id }, 'invalid-format', 'dialogue markers out of order');
    const bodyStart = start + DIALOGUE_START.length + (before[start + DIALOGUE_START.length] === '\n' ? 1 : 0);
    const body = before.slice(bodyStart, end);
    if (body !== '' && !body.endsWith('\n')) return fail({ ...loc, id }, 'invalid-format', 'dialogue does not end with a line break');
    turns = [];
    for (const line of body === '' ? [] : body.slice(0, -1).split('\n')) {
      const m = ROLE_LINE.exec(line);
      if (m) turns.push({ role: m[1] === '用户' ? 'user' : 'agent', text: line.slice(m[0].length), images: [] });
      else if (turns.length > 0) turns[turns.length - 1]!.text += `\n${line}`;
      else return fail({ ...loc, id }, 'invalid-format', `dialogue line does not start with 用户: or 客服: (${JSON.stringify(line.slice(0, 30))})`);
    }
    if (turns.length === 0) return fail({ ...loc, id }, 'empty-dialogue', 'the dialogue has no turn');
    if (countPlaceholders(before.slice(0, bodyStart)) + countPlaceholders(before.slice(end)) > 0) {
      return fail({ ...loc, id }, 'invalid-format', '<image> placeholder outside the dialogue');
    }
    frame = { head: before.slice(0, bodyStart), beforeLabels: before.slice(end), labels, tail };
  } else {
    const first = before.indexOf(IMAGE_PLACEHOLDER);
    const last = before.lastIndexOf(IMAGE_PLACEHOLDER) + IMAGE_PLACEHOLDER.length;
    if (first === -1) return fail({ ...loc, id }, 'invalid-format', 'scene prompt has no <image> before the label list');
    turns = [{ role: 'user', text: before.slice(first, last), images: [] }];
    frame = { head: before.slice(0, first), beforeLabels: before.slice(last), labels, tail };
  }
  if (countPlaceholders(tail) > 0) return fail({ ...loc, id }, 'invalid-format', '<image> placeholder after the label list');
  bindImages(turns, images as string[], loc, id);

  const sample: Sample = { id, task, turns, prompt: frame };
  if (output !== '') sample.label = output;
  if (input !== '') sample.meta = { input };
  return sample;
}

/** {@link parseChallengeRow} that returns a result instead of throwing. */
export function safeParseChallengeRow(
  row: unknown,
  loc: RowLocation = {},
): { success: true; value: Sample } | { success: false; error: LlmIrError } {
  try {
    return { success: true, value: parseChallengeRow(row, loc) };
  } catch (error) {
    if (LlmIrError.isInstance(error)) return { success: false, error };
    throw error;
  }
}

/** The dialogue (or scene content) of a sample as it appears in the prompt. */
export function renderContent(sample: Pick<Sample, 'task' | 'turns'>): string {
  if (sample.task === 'scene') return sample.turns.map((t) => t.text).join('\n');
  return sample.turns.map((t) => `${ROLE_PREFIX[t.role]}${t.text}\n`).join('');
}

/** The official prompt frame of a task (used when a sample has none). */
export function officialFrame(task: Task): PromptFrame {
  return task === 'scene' ? OFFICIAL_SCENE_FRAME : OFFICIAL_INTENT_FRAME;
}

/**
 * Renders a sample's full challenge instruction: its prompt frame (or the official one) around
 * its content, with the offered labels as a JSON list.
 */
export function renderInstruction(sample: Pick<Sample, 'task' | 'turns' | 'prompt'>): string {
  const frame = sample.prompt ?? officialFrame(sample.task);
  return `${frame.head}${renderContent(sample)}${frame.beforeLabels}${JSON.stringify(frame.labels)}${frame.tail}`;
}

/**
 * Writes a sample back as a challenge row. For a parsed row, `writeChallengeRow(parseChallengeRow(r))`
 * gives back the same `id`, `instruction`, `input`, `output` and `image`.
 */
export function writeChallengeRow(sample: Sample): ChallengeRow {
  const input = sample.meta?.['input'];
  return {
    id: sample.id,
    instruction: renderInstruction(sample),
    input: typeof input === 'string' ? input : '',
    output: sample.label ?? '',
    image: sample.turns.flatMap((t) => t.images.map((i) => i.path)),
  };
}

/** All image references of a sample, in placeholder order. */
export function sampleImages(sample: Pick<Sample, 'turns'>): ImageRef[] {
  return sample.turns.flatMap((t) => t.images);
}

/** The OCR lines of one of a sample's images: by its bytes' sha256 when known, else by its path. */
export function imageOcr(sample: Pick<Sample, 'ocr'>, image: ImageRef): OcrLine[] | undefined {
  return sample.ocr?.[image.sha256 ?? ''] ?? sample.ocr?.[image.path];
}

/** True when `label` is a canonical label of the sample's task. */
export function isKnownLabel(task: Task, label: string): boolean {
  return labelSetOf(task).has(label);
}
