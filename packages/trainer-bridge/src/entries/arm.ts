// @llm-ir/trainer-bridge/arm: the arm schema itself, its JSON Schema, preset names, vLLM LoRA rank limits, OCR tasks of an arm.
export { PRESET_NAMES, armFileSchema, ocrTasks, armJsonSchema, maxLoraRankFor, VLLM_MAX_LORA_RANKS } from '../arm.ts';
