import { writeFileAtomic } from '@llm-ir/core/io';
import { bestCheckpoint, escapeHtml, pts, table1, table2, tableToHtml, type RunResult, type Table } from './ablation.ts';
import { confusionHeatmapSpec, configurationsChartSpec, effectsChartSpec, epochChartSpec, perClassF1Spec, renderVegaLiteSvg } from './charts.ts';
import type { EffectsResult } from './effects.ts';
import type { ChallengeScore, TaskScore } from './score.ts';
import { slicesTable, weakClassesTable, type errorSlices } from './slices.ts';

/** What a report shows; every part is optional. */
export interface ReportInput {
  /** Page title. */
  title: string;
  /** A line under the title (data, date, commit...). */
  subtitle?: string;
  /** One prediction set's score: headline, per-task table, confusion heatmaps, per-class F1. */
  score?: ChallengeScore;
  /** Many runs: Table 1 and Table 2 shapes, baseline-to-best chart, score per epoch. */
  runs?: readonly RunResult[];
  /** Baseline name for Table 2. @default 'baseline' */
  baseline?: string;
  /** Component effects from a factorial design. */
  effects?: EffectsResult;
  /** Error slices and weak classes. */
  slices?: ReturnType<typeof errorSlices>;
  /** Free notes, one paragraph each. */
  notes?: readonly string[];
}

const CSS = `
body{font-family:"Noto Sans CJK SC","Noto Sans S Chinese","WenQuanYi Micro Hei","PingFang SC","Microsoft YaHei",system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}.sub{color:#666}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem}th{background:#f4f6f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.7rem 1rem;min-width:150px}
.card b{font-size:1.6rem;display:block}.card span{color:#666;font-size:.85rem}figure{margin:1rem 0;overflow-x:auto}figure svg{max-width:100%;height:auto}
`;

const fmt = (x: number) => (Number.isFinite(x) ? pts(x).toFixed(2) : 'n/a');
const ci = (c: [number, number] | null | undefined) => (c ? `[${fmt(c[0])}, ${fmt(c[1])}]` : '');

function taskTable(score: ChallengeScore): Table {
  const row = (name: string, t: TaskScore): Table['rows'][number] => [name, t.n, 100 * t.weightedF1, t.ci95 ? `${fmt(t.ci95[0])} – ${fmt(t.ci95[1])}` : '-', 100 * t.macroF1, 100 * t.microF1, 100 * t.precision, 100 * t.recall, 100 * t.accuracy];
  return {
    title: 'Scores per task (x 100; precision and recall are support-weighted)',
    columns: ['Task', 'n', 'Weighted F1', '95% CI', 'Macro F1', 'Micro F1', 'Precision', 'Recall', 'Accuracy'],
    rows: [row('scene', score.scene), row('intent', score.intent), row('pooled', score.pooled)],
  };
}

function figure(svg: string, id: string): string {
  return `<figure id="${id}" class="chart">${svg}</figure>`;
}

/**
 * Renders a self-contained HTML report (inline CSS and SVG charts, no script, no network): headline
 * cards, per-task scores with intervals, Table 1 / Table 2 shapes, the baseline-to-best chart,
 * score per epoch, component effects, error slices, confusion heatmaps and per-class F1.
 */
export async function renderReport(input: ReportInput): Promise<string> {
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(input.title)}</h1>`);
  if (input.subtitle) parts.push(`<p class="sub">${escapeHtml(input.subtitle)}</p>`);
  const s = input.score;
  if (s) {
    parts.push('<div class="cards">');
    parts.push(`<div class="card"><span>average (headline)</span><b>${fmt(s.average)}</b><span>${ci(s.averageCi95)}</span></div>`);
    parts.push(`<div class="card"><span>scene weighted F1</span><b>${fmt(s.scene.weightedF1)}</b><span>${ci(s.scene.ci95)}</span></div>`);
    parts.push(`<div class="card"><span>intent weighted F1</span><b>${fmt(s.intent.weightedF1)}</b><span>${ci(s.intent.ci95)}</span></div>`);
    parts.push(`<div class="card"><span>pooled weighted F1</span><b>${fmt(s.pooled.weightedF1)}</b><span>${ci(s.pooled.ci95)}</span></div>`);
    parts.push('</div>');
    parts.push(tableToHtml(taskTable(s)));
    if (s.missing.length || s.unknown.length) {
      parts.push(`<p>${s.missing.length} gold row(s) without a prediction (scored as wrong)${s.missing.length ? `: ${escapeHtml(s.missing.slice(0, 20).join(', '))}${s.missing.length > 20 ? ', ...' : ''}` : ''}. ${s.unknown.length} prediction(s) for unknown ids.</p>`);
    }
  }
  const runs = input.runs ?? [];
  if (runs.length) {
    parts.push('<h2>Ablation</h2>');
    parts.push(tableToHtml(table2(runs, input.baseline === undefined ? {} : { baseline: input.baseline })));
    const best = runs.map((r) => ({ configuration: r.arm, average: bestCheckpoint(r).average }));
    parts.push(figure(await renderVegaLiteSvg(configurationsChartSpec(best, 'Configurations from baseline to best (best checkpoint, weighted F1 x 100)')), 'chart-configurations'));
    const epochRows = runs.flatMap((r) => (r.checkpoints ?? []).filter((c) => c.epoch !== undefined).map((c) => ({ configuration: r.arm, epoch: c.epoch!, average: c.average })));
    if (epochRows.length) parts.push(figure(await renderVegaLiteSvg(epochChartSpec(epochRows)), 'chart-epochs'));
    parts.push(tableToHtml(table1(runs)));
  }
  if (input.effects) {
    const e = input.effects;
    parts.push('<h2>Component effects</h2>');
    parts.push(`<p>${e.runs.length} runs over ${e.factors.length} switches (${e.fullFactorial ? 'full factorial' : 'fractional or partial design'}). Effect = mean(score | on) − mean(score | off), in points; intervals from a bootstrap over test rows.</p>`);
    parts.push(figure(await renderVegaLiteSvg(effectsChartSpec(e.effects)), 'chart-effects'));
    parts.push(
      tableToHtml({
        title: 'Effects on the average score (x 100)',
        columns: ['Term', 'Kind', 'Estimate', 'CI low', 'CI high', 'Aliased with'],
        rows: e.effects.map((x) => [x.term, x.kind, 100 * x.estimate, 100 * x.ci95[0], 100 * x.ci95[1], x.aliasedWith.join(', ') || '-']),
      }),
    );
  }
  if (input.slices) {
    parts.push('<h2>Error analysis</h2>');
    parts.push(tableToHtml(slicesTable(input.slices)));
    parts.push(tableToHtml(weakClassesTable(input.slices)));
  }
  if (s) {
    parts.push('<h2>Per class</h2>');
    for (const task of ['scene', 'intent'] as const) {
      const r = s.reports[task];
      if (r.n === 0) continue;
      parts.push(figure(await renderVegaLiteSvg(perClassF1Spec(r, `${task}: F1 per class (x 100)`)), `chart-f1-${task}`));
      parts.push(figure(await renderVegaLiteSvg(confusionHeatmapSpec(r, `${task}: confusion matrix (rows gold, columns predicted)`)), `chart-confusion-${task}`));
    }
  }
  for (const n of input.notes ?? []) parts.push(`<p>${escapeHtml(n)}</p>`);
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(input.title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n${parts.join('\n')}\n</body>\n</html>\n`;
}

/** Renders a report ({@link renderReport}) and writes it atomically. */
export async function writeReport(path: string, input: ReportInput): Promise<void> {
  await writeFileAtomic(path, await renderReport(input));
}
