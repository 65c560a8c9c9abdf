// @llm-ir/eval/report: tables as CSV / HTML, error slices, the Vega-Lite chart specs and their SVG rendering.
export { bestCheckpoint, tableToCsv, tableToHtml } from '../ablation.ts';
export { slicesTable, weakClassesTable } from '../slices.ts';
export type { SliceScore, WeakClass, SliceOptions } from '../slices.ts';
export { renderVegaLiteSvg, configurationsChartSpec, epochChartSpec, confusionHeatmapSpec, perClassF1Spec, effectsChartSpec } from '../charts.ts';
