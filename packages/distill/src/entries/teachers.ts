// @llm-ir/distill/teachers: prompt building, image data URLs, label codes and logprob decoding of the OpenAI teacher.
export { buildMessages, imageDataUrl, probsFromLogprobs, LABEL_CODES } from '../teachers.ts';
