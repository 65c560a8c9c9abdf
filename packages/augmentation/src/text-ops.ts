import { createRequire } from 'node:module';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { INTENT_LABELS, SCENE_LABELS, type Sample, type Turn } from '@llm-ir/core';
import { type Rng } from '@llm-ir/core/run';
import { ecommerceLexicon, type Lexicon } from './lexicon.ts';
import { protectedSpans, segmentProtected } from './protect.ts';
import { wordnetSynonyms } from './wordnet.ts';

/** One text operation with its rate and the probability it runs. */
export type TextOp =
  | { op: 'synonym'; rate?: number; p?: number }
  | { op: 'delete'; rate?: number; p?: number }
  | { op: 'insert'; rate?: number; p?: number }
  | { op: 'swap'; rate?: number; p?: number }
  | { op: 'reorder'; p?: number };

/** Names of the text operations. */
export const TEXT_OPS = ['synonym', 'delete', 'insert', 'swap', 'reorder'] as const;

/** The default text policy: synonyms most of the time, the EDA operations and reordering sometimes. */
export const DEFAULT_TEXT_POLICY: readonly TextOp[] = [
  { op: 'synonym', rate: 0.15, p: 0.9 },
  { op: 'delete', rate: 0.08, p: 0.3 },
  { op: 'insert', rate: 0.08, p: 0.3 },
  { op: 'swap', rate: 0.08, p: 0.3 },
  { op: 'reorder', p: 0.3 },
];

interface Token {
  text: string;
  locked: boolean;
  kind: 'word' | 'space' | 'punct';
}

let jieba: Jieba | undefined;

/**
 * The process's one jieba segmenter with its default dictionary (loaded on first use, about 0.3 s),
 * shared by augmentation, the student's word features and retrieval's full-text search.
 */
export function segmenter(): Jieba {
  jieba ??= Jieba.withDict(dict);
  return jieba;
}

const HAN = /\p{Script=Han}/u;
const WORD = /[\p{Script=Han}\p{L}\p{N}]/u;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const seg of segmentProtected(text)) {
    if (seg.protected) {
      tokens.push({ text: seg.text, locked: true, kind: 'word' });
      continue;
    }
    const pieces = HAN.test(seg.text) ? segmenter().cut(seg.text, true) : (seg.text.match(/\s+|[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]/gu) ?? []);
    for (const p of pieces) tokens.push({ text: p, locked: false, kind: /^\s+$/.test(p) ? 'space' : WORD.test(p) ? 'word' : 'punct' });
  }
  return tokens;
}

const join = (tokens: readonly Token[]) => tokens.map((t) => t.text).join('');

/** Words whose loss or move would change the question: negations, question words, label vocabulary. */
const KEY_WORDS = new Set([
  '不', '没', '没有', '别', '无', '非', '未', '吗', '呢', '么', '什么', '怎么', '怎样', '多少', '几', '哪', '哪个', '哪里', '为什么', '是否', '能否', '可否', '会不会', '能不能', '是不是', '有没有',
  'not', 'no', 'never', "n't", 'what', 'how', 'when', 'where', 'why', 'which', 'who', 'whether',
]);
const INTENT_DOMAINS = new Set([...INTENT_LABELS.names, ...SCENE_LABELS.names]);

const NEGATION_OR_QUESTION = /[不没别无未非吗呢么几哪谁啥否]/u;

function isKey(word: string, lexicon: Lexicon): boolean {
  if (KEY_WORDS.has(word.toLowerCase()) || NEGATION_OR_QUESTION.test(word)) return true;
  const domain = lexicon.domainOf(word);
  if (domain !== undefined && INTENT_DOMAINS.has(domain)) return true;
  for (const l of INTENT_DOMAINS) if ([...word].length >= 2 && l.includes(word)) return true;
  return false;
}

// ---- English synonyms from WordNet (natural), cached ----
const require = createRequire(import.meta.url);
let tagger: { tag(words: string[]): { taggedWords: Array<{ token: string; tag: string }> } } | undefined;

// natural's Brill tagger module, loaded directly: natural's index also loads database clients
// (pg, redis, mongoose) and dotenv, which prints to stdout and reads a .env file
function loadNatural(): { Lexicon: new (...a: string[]) => unknown; RuleSet: new (l: string) => unknown; BrillPOSTagger: new (l: unknown, r: unknown) => NonNullable<typeof tagger> } {
  return require('natural/lib/natural/brill_pos_tagger');
}

/** WordNet part of speech of each word (Brill tagger): n, v, a (adjectives and satellites), r, or undefined. */
export function englishPos(words: readonly string[]): Array<'n' | 'v' | 'a' | 'r' | undefined> {
  if (!tagger) {
    const natural = loadNatural();
    tagger = new natural.BrillPOSTagger(new natural.Lexicon('EN', 'N', 'NNP'), new natural.RuleSet('EN'));
  }
  return tagger.tag([...words]).taggedWords.map(({ tag }) => (tag.startsWith('NN') ? 'n' : tag.startsWith('VB') ? 'v' : tag.startsWith('JJ') ? 'a' : tag.startsWith('RB') ? 'r' : undefined));
}
const EN_STOP = new Set('a an the is are was were be been am i you he she it we they me my your our their this that these those to of in on at for with and or but if so do does did have has had can could will would should may might must please'.split(' '));

/**
 * WordNet synonyms of an English word for a part of speech (`n`, `v`, `a`, `r`): single words from
 * its first three senses, lower case, sorted (see {@link wordnetSynonyms}); none for stop words.
 */
export function englishSynonyms(word: string, pos: 'n' | 'v' | 'a' | 'r'): string[] {
  const w = word.toLowerCase();
  if (EN_STOP.has(w) || w.length < 3) return [];
  return wordnetSynonyms(w, pos);
}

function matchCase(word: string, like: string): string {
  if (like.length > 1 && like === like.toUpperCase()) return word.toUpperCase();
  if (like[0] && like[0] === like[0].toUpperCase()) return word[0]!.toUpperCase() + word.slice(1);
  return word;
}

async function synonymsOf(t: Token, lexicon: Lexicon, pos?: 'n' | 'v' | 'a' | 'r'): Promise<string[]> {
  if (t.locked || t.kind !== 'word') return [];
  if (HAN.test(t.text)) return [...lexicon.synonyms(t.text)];
  if (pos && /^[A-Za-z]+$/.test(t.text)) return englishSynonyms(t.text, pos).map((s) => matchCase(s, t.text));
  return [];
}

/** Part of speech of every English word token (by index), for WordNet lookups. */
function tagTokens(tokens: readonly Token[]): Map<number, 'n' | 'v' | 'a' | 'r'> {
  const idx = tokens.map((t, i) => (t.kind === 'word' && /^[A-Za-z]/.test(t.text) ? i : -1)).filter((i) => i >= 0);
  const out = new Map<number, 'n' | 'v' | 'a' | 'r'>();
  if (idx.length === 0) return out;
  englishPos(idx.map((i) => tokens[i]!.text)).forEach((p, k) => p && out.set(idx[k]!, p));
  return out;
}

/** Options of {@link augmentText}. */
export interface TextAugmentOptions {
  /** Lexicon for Chinese synonyms. @default the project's e-commerce lexicon */
  lexicon?: Lexicon;
}

/**
 * Applies text operations to one text, never touching protected spans (`<image>`, `<http>`, links,
 * emoticon codes, OCR blocks, numbers, model numbers, units). Chinese is segmented with jieba;
 * synonyms come from the lexicon (Chinese) or WordNet (English). Deletion and swaps spare key words
 * (negations, question words, label vocabulary). Deterministic for a given `rng` state.
 *
 * @example
 * ```ts
 * await augmentText('请问这款什么时候补货？', [{ op: 'synonym', rate: 0.5 }], createRng(1)); // e.g. '请问这款何时上货？'
 * ```
 */
export async function augmentText(text: string, ops: readonly TextOp[], rng: Rng, options: TextAugmentOptions = {}): Promise<string> {
  const lexicon = options.lexicon ?? ecommerceLexicon();
  let tokens = tokenize(text);
  const guard = protectedSpans(text).join('\u0000');
  for (const op of ops) {
    if (!rng.bernoulli(op.p ?? 1)) continue;
    const before = tokens;
    tokens = await applyTextOp(op, tokens.map((t) => ({ ...t })), text, { rng, lexicon });
    // an edit next to a protected span can change it (a word inserted after "316" reads as a unit):
    // such an edit is undone, so protected spans always survive
    if (protectedSpans(join(tokens)).join('\u0000') !== guard) tokens = before;
  }
  return join(tokens);
}

async function applyTextOp(op: TextOp, tokens: Token[], text: string, { rng, lexicon }: { rng: Rng; lexicon: Lexicon }): Promise<Token[]> {
  const words = () => tokens.map((t, i) => (t.kind === 'word' && !t.locked ? i : -1)).filter((i) => i >= 0);
  const rate = 'rate' in op ? (op.rate ?? 0.1) : 0;
  const count = Math.max(1, Math.round(rate * words().length));
  if (op.op === 'synonym') {
    const candidates: Array<{ i: number; syns: string[] }> = [];
    const pos = tagTokens(tokens);
    for (const i of words()) {
      const syns = await synonymsOf(tokens[i]!, lexicon, pos.get(i));
      if (syns.length) candidates.push({ i, syns });
    }
    for (const c of rng.shuffle(candidates).slice(0, count)) tokens[c.i] = { ...tokens[c.i]!, text: rng.pick(c.syns) };
  } else if (op.op === 'delete') {
    const free = words().filter((i) => !isKey(tokens[i]!.text, lexicon));
    if (free.length >= 2) {
      const gone = new Set(free.filter(() => rng.bernoulli(rate)));
      if (gone.size >= words().length) gone.delete([...gone][0]!);
      // an English word goes with the space after it (or before it, at the end)
      for (const i of [...gone]) {
        if (tokens[i + 1]?.kind === 'space' && !gone.has(i + 1)) gone.add(i + 1);
        else if (tokens[i - 1]?.kind === 'space' && !gone.has(i - 1)) gone.add(i - 1);
      }
      tokens = tokens.filter((_, i) => !gone.has(i));
    }
  } else if (op.op === 'swap') {
    for (let k = 0; k < count; k++) {
      const free = words().filter((i) => !isKey(tokens[i]!.text, lexicon) && !EN_STOP.has(tokens[i]!.text.toLowerCase()));
      if (free.length < 2) break;
      const a = rng.pick(free);
      const b = rng.pick(free.filter((x) => x !== a));
      [tokens[a], tokens[b]] = [tokens[b]!, tokens[a]!];
    }
  } else if (op.op === 'insert') {
    const pool: string[] = [];
    const pos = tagTokens(tokens);
    for (const i of words()) pool.push(...(await synonymsOf(tokens[i]!, lexicon, pos.get(i))));
    if (pool.length === 0) return tokens;
    const english = !HAN.test(text);
    for (let k = 0; k < count; k++) {
      const word = rng.pick(pool);
      if (english) {
        // after a space: "it 3 days" -> "it word 3 days"
        const spaces = tokens.map((t, i) => (t.kind === 'space' ? i : -1)).filter((i) => i >= 0);
        if (spaces.length === 0) break;
        tokens.splice(rng.pick(spaces) + 1, 0, { text: word, locked: false, kind: 'word' }, { text: ' ', locked: false, kind: 'space' });
      } else {
        tokens.splice(rng.int(tokens.length + 1), 0, { text: word, locked: false, kind: 'word' });
      }
    }
  } else if (op.op === 'reorder') {
    tokens = reorderClauses(tokens, rng);
  }
  return tokens;
}

const CLAUSE_BREAK = new Set(['，', '；', ',', ';']);
const SENTENCE_END = /^[。！？!?.…]+$/;
const SUBORDINATE = /^(因为|所以|但是|但|可是|不过|如果|要是|虽然|然后|而且|并且|还是|或者|因此|否则|那|那么|就|才|也|because|so|but|if|although|then|and|or)/i;
const TIME_ADVERBIAL = /^(今天|明天|昨天|现在|目前|刚才|最近|之前|后来|上次|这次|早上|晚上)$/;
const SUBJECT = /^(我|你|您|他|她|它|我们|你们|他们|咱们)$/;

/** Splits tokens at unlocked tokens matching `isBreak`: parts and the breaks between them. */
function splitAt(tokens: Token[], isBreak: (t: Token) => boolean): { parts: Token[][]; breaks: Token[] } {
  const parts: Token[][] = [[]];
  const breaks: Token[] = [];
  for (const t of tokens) {
    if (!t.locked && t.kind === 'punct' && isBreak(t)) {
      breaks.push(t);
      parts.push([]);
    } else parts.at(-1)!.push(t);
  }
  return { parts, breaks };
}

function interleave(parts: Token[][], breaks: Token[]): Token[] {
  return parts.flatMap((p, i) => (i < breaks.length ? [...p, breaks[i]!] : p));
}

/**
 * Swaps two adjacent coordinate clauses inside one sentence (never across 。？！, never a clause
 * opened by a conjunction); where there is none, moves a leading time adverbial behind the subject
 * (今天我收到了 -> 我今天收到了).
 */
function reorderClauses(tokens: Token[], rng: Rng): Token[] {
  const sentences = splitAt(tokens, (t) => SENTENCE_END.test(t.text));
  const text = (c: Token[]) => c.map((t) => t.text).join('').trim();
  const options: Array<{ s: number; i: number }> = [];
  const split = sentences.parts.map((sentence) => splitAt(sentence, (t) => CLAUSE_BREAK.has(t.text)));
  split.forEach((c, s) => {
    for (let i = 0; i + 1 < c.parts.length; i++) {
      const a = text(c.parts[i]!);
      const b = text(c.parts[i + 1]!);
      if (a && b && !SUBORDINATE.test(a) && !SUBORDINATE.test(b)) options.push({ s, i });
    }
  });
  if (options.length > 0) {
    const { s, i } = rng.pick(options);
    const c = split[s]!;
    [c.parts[i], c.parts[i + 1]] = [c.parts[i + 1]!, c.parts[i]!];
    return interleave(split.map((c) => interleave(c.parts, c.breaks)), sentences.breaks);
  }
  const out = [...tokens];
  const w = out.map((t, idx) => (t.kind === 'word' ? idx : -1)).filter((x) => x >= 0);
  if (w.length >= 2 && TIME_ADVERBIAL.test(out[w[0]!]!.text) && SUBJECT.test(out[w[1]!]!.text) && !out[w[0]!]!.locked) {
    [out[w[0]!], out[w[1]!]] = [out[w[1]!]!, out[w[0]!]!];
  }
  return out;
}

/**
 * Reorders a dialogue where meaning is kept: swaps two earlier user/agent exchanges (a user turn
 * and the agent turns after it), never moving the last user turn or what follows it. Images move
 * with their turns. Returns the turns unchanged when there are fewer than two earlier exchanges.
 */
export function reorderTurns(turns: readonly Turn[], rng: Rng): Turn[] {
  const lastUser = turns.map((t) => t.role).lastIndexOf('user');
  if (lastUser <= 0) return [...turns];
  const exchanges: Turn[][] = [];
  let head: Turn[] = [];
  for (const t of turns.slice(0, lastUser)) {
    if (t.role === 'user') exchanges.push([t]);
    else if (exchanges.length) exchanges.at(-1)!.push(t);
    else head.push(t);
  }
  if (exchanges.length < 2) return [...turns];
  const i = rng.int(exchanges.length - 1);
  [exchanges[i], exchanges[i + 1]] = [exchanges[i + 1]!, exchanges[i]!];
  const out = [...head, ...exchanges.flat(), ...turns.slice(lastUser)];
  head = [];
  return out;
}

/** Applies text operations to every turn of a sample (and, with `reorderTurns`, to the turn order). */
export async function augmentSampleText(sample: Sample, ops: readonly TextOp[], rng: Rng, options: TextAugmentOptions & { reorderTurns?: number } = {}): Promise<Sample> {
  let turns: Turn[] = [];
  for (const [k, t] of sample.turns.entries()) turns.push({ ...t, text: await augmentText(t.text, ops, rng.fork(`turn-${k}`), options) });
  if (sample.task === 'intent' && rng.bernoulli(options.reorderTurns ?? 0)) turns = reorderTurns(turns, rng.fork('turns'));
  return { ...sample, turns };
}
