import { ECOMMERCE_ZH_LEXICON } from './lexicon-data.ts';

/** A synonym lexicon: groups of interchangeable words, each with a domain (intent, scene or topic). */
export interface Lexicon {
  /** Groups in file order. */
  groups: ReadonlyArray<{ words: readonly string[]; domain: string }>;
  /** Other words of the word's group (empty when the word is unknown or a single character). */
  synonyms(word: string): readonly string[];
  /** Domain of the word's group, if the word is known. */
  domainOf(word: string): string | undefined;
  /** Every known word of at least two characters. */
  words(): IterableIterator<string>;
}

/**
 * Parses a lexicon in the TSV form of `datasets/lexicons/ecommerce-zh.tsv`: one group per line,
 * words separated by `|`, a tab, the domain; `#` starts a comment. Single-character words never
 * take part in replacement (too ambiguous); a word listed twice belongs to its first group.
 */
export function parseLexicon(text: string): Lexicon {
  const groups: Array<{ words: string[]; domain: string }> = [];
  const index = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [wordsPart, domain = ''] = line.split('\t');
    const words = [...new Set(wordsPart!.split('|').map((w) => w.trim()).filter(Boolean))];
    const g = groups.length;
    groups.push({ words, domain: domain.trim() });
    for (const w of words) if (!index.has(w)) index.set(w, g);
  }
  const usable = (w: string) => [...w].length >= 2;
  return {
    groups,
    synonyms(word) {
      if (!usable(word)) return [];
      const g = index.get(word);
      if (g === undefined) return [];
      return groups[g]!.words.filter((w) => w !== word && usable(w) && index.get(w) === g);
    },
    domainOf(word) {
      const g = index.get(word);
      return g === undefined ? undefined : groups[g]!.domain;
    },
    *words() {
      for (const w of index.keys()) if (usable(w)) yield w;
    },
  };
}

let defaultLexicon: Lexicon | undefined;

/** The project's e-commerce lexicon (455 groups covering the 23 intents and 25 scenes). */
export function ecommerceLexicon(): Lexicon {
  defaultLexicon ??= parseLexicon(ECOMMERCE_ZH_LEXICON);
  return defaultLexicon;
}
