// @llm-ir/trainer-bridge/serve: vLLM helpers: its version, the label constraint it supports, images per prompt.
export { vllmVersion, constraintForVllm, maxImagesPerRow } from '../predict.ts';
