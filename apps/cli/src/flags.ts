import { LlmIrError } from '@llm-ir/core';

/**
 * Parsers of numeric flags for commander: the value is checked when the command line is parsed and
 * kept as given (commands convert it), so `--workers abc` is a `config-invalid` error naming the flag,
 * never a crash deeper in.
 */
function numeric(kind: 'integer' | 'number', range: { min?: number; max?: number; above?: number }) {
  return (value: string, _previous: unknown, flag = ''): string => {
    const x = Number(value);
    const bad =
      value.trim() === '' || !Number.isFinite(x) || (kind === 'integer' && !Number.isInteger(x)) ||
      (range.min !== undefined && x < range.min) || (range.max !== undefined && x > range.max) || (range.above !== undefined && x <= range.above);
    if (bad) {
      const bounds = [range.min !== undefined ? `>= ${range.min}` : '', range.above !== undefined ? `> ${range.above}` : '', range.max !== undefined ? `<= ${range.max}` : ''].filter(Boolean).join(' and ');
      throw new LlmIrError({ code: 'config-invalid', message: `${flag || 'option'}: ${JSON.stringify(value)} is not ${kind === 'integer' ? 'an integer' : 'a number'}${bounds ? ` ${bounds}` : ''}` });
    }
    return value;
  };
}

/** An integer flag (`--workers <n>`) within bounds. */
export function intFlag(flag: string, range: { min?: number; max?: number } = {}): (value: string) => string {
  const check = numeric('integer', range);
  return (value) => check(value, undefined, flag);
}

/** A number flag (`--text-rate <r>`) within bounds (`above`: strictly greater than). */
export function numberFlag(flag: string, range: { min?: number; max?: number; above?: number } = {}): (value: string) => string {
  const check = numeric('number', range);
  return (value) => check(value, undefined, flag);
}
