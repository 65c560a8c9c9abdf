/** True when `llm-ir run` wrote the summary of the run in `dir` and recorded it as succeeded (not partial). */
export declare function runFinished(dir: string): boolean;
