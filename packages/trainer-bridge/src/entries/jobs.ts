// @llm-ir/trainer-bridge/jobs: executor and monitor internals: sbatch scripts, SLURM states, handles, log diagnosis, checkpoints.
export { sbatchScript, mapSlurmState, diagnoseLog, saveHandle, isActive, jobProcesses } from '../executors.ts';
export type { JobSpec } from '../executors.ts';
export { followTraining, discoverCheckpoints, lastCompleteCheckpoint, parseTrainLogLine, parseDuration } from '../monitor.ts';
export type { TrainLogEntry, FollowOptions } from '../monitor.ts';
