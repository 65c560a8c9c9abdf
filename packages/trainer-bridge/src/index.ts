// @llm-ir/trainer-bridge: arms, preparing and running a training on an executor, predicting through an OpenAI-compatible server.
// More in the subpath exports: `@llm-ir/trainer-bridge/arm` (the arm schema itself, its JSON Schema, preset names, vLLM LoRA rank limits, OCR tasks of an arm), `@llm-ir/trainer-bridge/export` (the LLaMA-Factory and ms-swift data and config writers), `@llm-ir/trainer-bridge/jobs` (executor and monitor internals: sbatch scripts, SLURM states, handles, log diagnosis, checkpoints), `@llm-ir/trainer-bridge/serve` (vLLM helpers: its version, the label constraint it supports, images per prompt).
export { PAPER_ARMS, parseArm, loadArm, armFactors } from './arm.ts';
export type { ArmConfig, ArmFile, PresetName } from './arm.ts';
export { localExecutor, slurmExecutor, sshExecutor, loadHandle, executorForHandle } from './executors.ts';
export type { Executor, JobHandle, JobSpec, JobState, JobStatus } from './executors.ts';
export { runSlurmArray } from './array.ts';
export type { ArrayOptions, ArrayRun, ArrayTask } from './array.ts';
export type { Checkpoint } from './monitor.ts';
export { predictWithEndpoint, vllmServeCommand, startServer, type ServerProcess } from './predict.ts';
export type { PredictOptions, LoraModule } from './predict.ts';
export { prepareTraining, runTraining, TrainingRunError } from './bridge.ts';
export type { PreparedTraining, RunTrainingOptions } from './bridge.ts';
