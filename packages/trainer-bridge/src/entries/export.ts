// @llm-ir/trainer-bridge/export: the LLaMA-Factory and ms-swift data and config writers.
export { exportLlamaFactory, llamaFactoryConfig, toShareGpt, stepsPerEpoch, LLAMAFACTORY_KEYS } from '../llamafactory.ts';
export type { ShareGptRow, LlamaFactoryExport } from '../llamafactory.ts';
export { exportSwift } from '../swift.ts';
export type { SwiftExportOptions } from '../swift.ts';
