import { parse as parseVega, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ClassificationReport } from './metrics.ts';
import type { Effect } from './effects.ts';

const FONT = 'Noto Sans CJK SC, Noto Sans S Chinese, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif';
const BASE_CONFIG = { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } } as const;

/**
 * Renders a Vega-Lite spec to a standalone SVG string in Node (no browser, no canvas: text widths
 * are estimated by Vega). Deterministic for a given spec and data.
 */
export async function renderVegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile({ ...spec, config: { ...BASE_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new View(parseVega(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Configurations from baseline to best (the paper's Figure 7): one bar per configuration, in the
 * order given, labelled with its score in points.
 */
export function configurationsChartSpec(rows: ReadonlyArray<{ configuration: string; average: number }>, title = 'Average weighted F1 by configuration'): TopLevelSpec {
  const values = rows.map((r, i) => ({ configuration: r.configuration, score: +(100 * r.average).toFixed(2), order: i }));
  const min = Math.min(...values.map((v) => v.score));
  const max = Math.max(...values.map((v) => v.score));
  const lo = Math.max(0, Math.floor(min - 5));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 520,
    height: Math.max(120, 28 * values.length),
    data: { values },
    encoding: {
      y: { field: 'configuration', type: 'nominal', sort: null, title: null },
      x: { field: 'score', type: 'quantitative', title: 'weighted F1 x 100', scale: { domain: [lo, Math.min(100, Math.ceil(max + 3))] } },
    },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8', clip: true }, encoding: { x2: { datum: lo } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { text: { field: 'score', type: 'quantitative', format: '.2f' } } },
    ],
  };
}

/** Score per epoch (or checkpoint) per configuration: one line per configuration. */
export function epochChartSpec(rows: ReadonlyArray<{ configuration: string; epoch: number; average: number }>): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Average weighted F1 per epoch',
    width: 520,
    height: 260,
    data: { values: rows.map((r) => ({ ...r, score: +(100 * r.average).toFixed(2) })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { zero: false } },
      y: { field: 'score', type: 'quantitative', title: 'weighted F1 x 100', scale: { zero: false } },
      color: { field: 'configuration', type: 'nominal', title: 'configuration' },
    },
  };
}

/** Confusion heatmap of a report (row-normalised colour, counts as text). */
export function confusionHeatmapSpec(report: ClassificationReport, title = 'Confusion matrix (rows: gold, columns: predicted)'): TopLevelSpec {
  // rows: classes with gold rows; columns: classes that are gold or predicted somewhere
  const rows = report.labels.filter((_, i) => report.perClass[i]!.support > 0);
  const cols = report.labels.filter((_, i) => report.perClass[i]!.support > 0 || report.perClass[i]!.predicted > 0);
  const values: Array<{ gold: string; predicted: string; count: number; share: number }> = [];
  report.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      if (count > 0) values.push({ gold: report.labels[i]!, predicted: report.labels[j]!, count, share: total ? count / total : 0 });
    });
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(200, 18 * cols.length),
    height: Math.max(200, 18 * rows.length),
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: cols, scale: { domain: cols }, axis: { labelAngle: -60, labelLimit: 160 } },
      y: { field: 'gold', type: 'nominal', sort: rows, scale: { domain: rows }, axis: { labelLimit: 160 } },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'share', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'share of row' } } },
      { mark: { type: 'text', fontSize: 9 }, encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' } } },
    ],
  };
}

/** Per-class F1 bars, weakest first. */
export function perClassF1Spec(report: ClassificationReport, title = 'F1 per class'): TopLevelSpec {
  const values = report.perClass.filter((c) => c.support > 0).map((c) => ({ label: c.label, f1: +(100 * c.f1).toFixed(2), support: c.support }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 420,
    height: Math.max(120, 16 * values.length),
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'f1', order: 'ascending' }, title: null, axis: { labelLimit: 160 } },
      x: { field: 'f1', type: 'quantitative', title: 'F1 x 100', scale: { domain: [0, 100] } },
      color: { field: 'support', type: 'quantitative', title: 'support', scale: { scheme: 'greens' } },
      tooltip: [{ field: 'label' }, { field: 'f1' }, { field: 'support' }],
    },
  };
}

const TERM = { field: 'term', type: 'nominal', sort: null, title: null } as const;

/** Component effects with their intervals (a forest plot), in points. */
export function effectsChartSpec(effects: readonly Effect[], title = 'Component effects on the average score (points, 95% bootstrap interval)'): TopLevelSpec {
  const values = effects.map((e) => ({ term: e.term, kind: e.kind, estimate: +(100 * e.estimate).toFixed(2), lo: +(100 * e.ci95[0]).toFixed(2), hi: +(100 * e.ci95[1]).toFixed(2) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 460,
    height: Math.max(100, 24 * values.length),
    data: { values },
    layer: [
      { mark: { type: 'rule' }, encoding: { y: TERM, x: { field: 'lo', type: 'quantitative', title: 'effect (points)' }, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, size: 60 }, encoding: { y: TERM, x: { field: 'estimate', type: 'quantitative' }, color: { field: 'kind', type: 'nominal', title: null } } },
      { mark: { type: 'rule', strokeDash: [4, 4], color: '#999' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}
