/** Test helpers of `@llm-ir/distill`: a local OpenAI-compatible server with scripted failures. */
export { startFakeOpenAI } from './fake-openai.ts';
export type { FakeOpenAI, FakeOpenAIOptions, FakeRequest, FakeAnswer } from './fake-openai.ts';
