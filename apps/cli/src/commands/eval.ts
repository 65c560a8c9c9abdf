import { join } from 'node:path';
import { Command } from 'commander';
import { compareRuns, errorSlices, estimateEffects, loadGold, loadPredictions, readRunResults, scoreChallenge, table1, table2, tableToMarkdown, writeReport, type ChallengeScore, type FactorialRun, type TaskScore } from '@llm-ir/eval';
import { existsSync } from 'node:fs';
import type { CliIo } from '../context.ts';
import { intFlag } from '../flags.ts';

/** JSON numbers: NaN (a task with no rows) becomes null. */
function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function taskJson(t: TaskScore) {
  return {
    weightedF1: jsonNumber(t.weightedF1),
    macroF1: jsonNumber(t.macroF1),
    microF1: jsonNumber(t.microF1),
    precision: jsonNumber(t.precision),
    recall: jsonNumber(t.recall),
    accuracy: jsonNumber(t.accuracy),
    n: t.n,
    ci95: t.ci95,
  };
}

/** The `llm-ir eval --json` object. */
function scoreJson(s: ChallengeScore) {
  return {
    scene: taskJson(s.scene),
    intent: taskJson(s.intent),
    average: jsonNumber(s.average),
    averageCi95: s.averageCi95,
    pooled: taskJson(s.pooled),
    missing: s.missing,
    unknown: s.unknown,
    paddedIds: s.paddedIds,
    offLabelSet: s.offLabelSet,
  };
}

const pts = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : 'n/a');
const ci = (c: [number, number] | null) => (c ? ` [${pts(c[0])}, ${pts(c[1])}]` : '');

function scoreText(s: ChallengeScore): string {
  const line = (name: string, t: TaskScore) =>
    `${name.padEnd(8)} n=${String(t.n).padStart(5)}  weighted F1 ${pts(t.weightedF1)}${ci(t.ci95)}  macro ${pts(t.macroF1)}  micro ${pts(t.microF1)}  P ${pts(t.precision)}  R ${pts(t.recall)}  acc ${pts(t.accuracy)}`;
  return [
    `average  ${pts(s.average)}${ci(s.averageCi95)}   (mean of the two tasks' weighted F1, x100)`,
    line('scene', s.scene),
    line('intent', s.intent),
    line('pooled', s.pooled),
    s.missing.length ? `missing predictions (scored as wrong): ${s.missing.length}` : '',
    s.unknown.length ? `predictions for unknown ids (ignored): ${s.unknown.length}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** What a person should hear about a predictions file before trusting its score (counts and examples). */
function predictionWarnings(s: ChallengeScore, file: string): string[] {
  const eg = (xs: readonly string[]) => xs.slice(0, 3).map((x) => JSON.stringify(x)).join(', ') + (xs.length > 3 ? ', ...' : '');
  return [
    ...(s.offLabelSet.length ? [`${file}: ${s.offLabelSet.length} prediction(s) with a label outside their task's label set, scored as wrong (e.g. ${eg(s.offLabelSet.map((x) => x.label))})`] : []),
    ...(s.paddedIds.length ? [`${file}: ${s.paddedIds.length} id(s) match a gold id only without their surrounding whitespace, so they are not matched: their rows count as missing (e.g. ${eg(s.paddedIds)})`] : []),
    ...(s.missing.length ? [`${file}: ${s.missing.length} gold row(s) have no prediction, scored as wrong`] : []),
  ];
}

/**
 * Switches that are on and off together in every run (e.g. OCR at training and at inference in a
 * grid that toggles OCR as one switch) cannot be told apart: they become one factor named `a=b`,
 * instead of two perfectly aliased ones.
 */
function mergeAliasedFactors(runs: readonly FactorialRun[]): FactorialRun[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.factors)))].sort();
  const groups = new Map<string, string[]>();
  for (const f of names) {
    const column = runs.map((r) => (r.factors[f] ? '1' : '0')).join('');
    groups.set(column, [...(groups.get(column) ?? []), f]);
  }
  return runs.map((r) => ({ ...r, factors: Object.fromEntries([...groups.values()].map((g) => [g.join('='), r.factors[g[0]!] === true])) }));
}

/** `llm-ir eval`, `llm-ir compare` and `llm-ir report`. */
export function evalCommands(io: CliIo): Command[] {
  const evalCmd = new Command('eval')
    .description('score predictions against gold labels: weighted F1 per task, their average (the challenge score), pooled F1, bootstrap intervals')
    .requiredOption('--gold <file>', 'challenge JSON (or JSONL) with gold labels; images are not needed')
    .requiredOption('--pred <file>', 'submission.csv (id,predict) or predictions.jsonl')
    .option('--json', 'print exactly one JSON object', false)
    .option('--resamples <n>', 'bootstrap resamples for the intervals (0: none)', intFlag('--resamples', { min: 0 }), '1000')
    .option('--seed <seed>', 'bootstrap seed', '0')
    .option('--report <file>', 'also write a self-contained HTML report (per class, confusion, error slices)')
    .action(async (opts: { gold: string; pred: string; json: boolean; resamples: string; seed: string; report?: string }) => {
      const { gold, samples } = await loadGold(opts.gold);
      const predictions = await loadPredictions(opts.pred);
      const score = scoreChallenge(gold, predictions, { resamples: Number(opts.resamples), seed: opts.seed });
      for (const line of predictionWarnings(score, opts.pred)) io.stderr(`warning: ${line}\n`);
      if (opts.json) io.stdout(`${JSON.stringify(scoreJson(score))}\n`);
      else io.stdout(`${scoreText(score)}\n`);
      if (opts.report) {
        await writeReport(opts.report, { title: 'llm-ir evaluation', subtitle: `gold ${opts.gold} · predictions ${opts.pred}`, score, slices: errorSlices(samples, predictions) });
        io.stderr(`report: ${opts.report}\n`);
      }
    });

  const compare = new Command('compare')
    .description('paired comparison of two prediction files on the same gold: paired bootstrap of the score difference and McNemar')
    .requiredOption('--gold <file>', 'challenge JSON with gold labels')
    .requiredOption('--a <file>', 'first predictions (csv or jsonl)')
    .requiredOption('--b <file>', 'second predictions (csv or jsonl)')
    .option('--resamples <n>', 'bootstrap resamples', intFlag('--resamples', { min: 0 }), '2000')
    .option('--seed <seed>', 'bootstrap seed', '0')
    .option('--json', 'print one JSON object', false)
    .action(async (opts: { gold: string; a: string; b: string; resamples: string; seed: string; json: boolean }) => {
      const { gold } = await loadGold(opts.gold);
      const r = compareRuns(gold, await loadPredictions(opts.a), await loadPredictions(opts.b), { resamples: Number(opts.resamples), seed: opts.seed });
      if (opts.json) {
        io.stdout(`${JSON.stringify(r)}\n`);
        return;
      }
      const d = (name: string, x: typeof r.average) =>
        `${name.padEnd(8)} A ${pts(x.a)}  B ${pts(x.b)}  B-A ${x.difference >= 0 ? '+' : ''}${(100 * x.difference).toFixed(2)} [${(100 * x.ci95[0]).toFixed(2)}, ${(100 * x.ci95[1]).toFixed(2)}]  bootstrap p=${x.pValue.toPrecision(3)}`;
      const lines = [d('average', r.average)];
      for (const t of ['scene', 'intent'] as const) if (r.tasks[t]) lines.push(d(t, r.tasks[t]!));
      const m = r.mcnemar.all;
      lines.push(`McNemar  A-only right ${m.aOnly}, B-only right ${m.bOnly}, p=${m.pValue.toPrecision(3)} (${m.method})`);
      io.stdout(`${lines.join('\n')}\n`);
    });

  const report = new Command('report')
    .description('combined report of run folders: Table 1 / Table 2 shapes, baseline-to-best chart, score per epoch, component effects')
    .argument('<run-dir...>', 'run folders (each with summary.json)')
    .requiredOption('--out <file>', 'report.html to write')
    .option('--baseline <arm>', 'baseline configuration for Table 2', 'baseline')
    .option('--gold <file>', 'gold file: enables component effects from runs with factors and predictions.jsonl')
    .option('--effects-runs <dir...>', 'estimate effects from these run folders only (e.g. a factorial grid) instead of all')
    .option('--resamples <n>', 'bootstrap resamples for effect intervals', intFlag('--resamples', { min: 0 }), '1000')
    .action(async (dirs: string[], opts: { out: string; baseline: string; gold?: string; resamples: string; effectsRuns?: string[] }) => {
      const runs = await readRunResults(dirs);
      let effects;
      if (opts.gold) {
        const { gold } = await loadGold(opts.gold);
        const factorial: FactorialRun[] = [];
        for (const r of opts.effectsRuns ? await readRunResults(opts.effectsRuns) : runs) {
          const pred = join(r.dir!, 'predictions.jsonl');
          if (r.factors && existsSync(pred)) factorial.push({ name: r.arm, factors: r.factors, predictions: await loadPredictions(pred) });
        }
        if (factorial.length >= 2) effects = estimateEffects(gold, mergeAliasedFactors(factorial), { resamples: Number(opts.resamples) });
      }
      await writeReport(opts.out, { title: 'llm-ir ablation report', subtitle: `${runs.length} runs`, runs, baseline: opts.baseline, ...(effects ? { effects } : {}) });
      io.stdout(`${tableToMarkdown(table2(runs, { baseline: opts.baseline }))}\n${tableToMarkdown(table1(runs))}\nreport: ${opts.out}\n`);
    });

  return [evalCmd, compare, report];
}
