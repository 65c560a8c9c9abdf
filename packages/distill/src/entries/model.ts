// @llm-ir/distill/model: the student's featurizer, its per-task defaults and the L-BFGS logistic regression it trains.
export { STUDENT_TASK_DEFAULTS } from '../student.ts';
export { fitFeaturizer, loadFeaturizer, textFields, ocrLines } from '../features.ts';
export type { Featurizer, FeatureOptions, FeatureFamilies, FeatureBlock } from '../features.ts';
export { fitLogisticRegression, lbfgs, decision, softmax } from '../logreg.ts';
export type { LogRegModel, LogRegOptions, Targets } from '../logreg.ts';
export type { SparseMatrix, SparseRow } from '../sparse.ts';
