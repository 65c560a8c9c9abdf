// @llm-ir/distill: the CPU student, its pipeline stage, teachers, pseudo-labels, the OpenAI-compatible client.
// More in the subpath exports: `@llm-ir/distill/model` (the student's featurizer, its per-task defaults and the L-BFGS logistic regression it trains), `@llm-ir/distill/teachers` (prompt building, image data URLs, label codes and logprob decoding of the OpenAI teacher).
export { createStudent, loadStudent, parseStudent } from './student.ts';
export { trainStudentStage, distillStudentStage, blendPredictions, fixedTeacher } from './stage.ts';
export type { StudentStageOptions, WeightedPredictions } from './stage.ts';
export type { Student, StudentOptions, StudentTaskOptions } from './student.ts';
export { createChatClient } from './openai-client.ts';
export type { ChatClient, ChatClientOptions, ChatStats, ChatResponse } from './openai-client.ts';
export { openaiTeacher, fileTeacher, localTeacher, ensembleTeacher } from './teachers.ts';
export type { Teacher, TeacherRunOptions, OpenAITeacherOptions } from './teachers.ts';
export { pseudoLabel } from './pseudo.ts';
export type { PseudoLabelOptions, PseudoLabelResult } from './pseudo.ts';
