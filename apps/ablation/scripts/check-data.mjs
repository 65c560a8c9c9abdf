// The first task of the ablation pipeline (turbo.json: every arm depends on it; never cached): checks
// that LLM_IR_DATA_HASH, the arms' cache key for the data, is the hash of the data the environment
// names. Turbo restores an arm from the local or remote cache by that key alone, so a wrong hash would
// serve another dataset's results; this task fails first, and nothing is restored or run.
import { dataHash } from './data-hash.mjs';

const names = ['LLM_IR_TRAIN', 'LLM_IR_TRAIN_IMAGES', 'LLM_IR_TEST', 'LLM_IR_TEST_IMAGES', 'LLM_IR_DATA_HASH'];
const missing = names.filter((k) => !process.env[k]);
if (missing.length) {
  console.error(`${missing.join(', ')} not set: run \`npm run demo\` from the repository root, or set ${names.join(', ')} (the hash from apps/ablation/scripts/data-hash.mjs)`);
  process.exit(2);
}
const env = process.env;
const want = dataHash({ train: env.LLM_IR_TRAIN, test: env.LLM_IR_TEST, trainImages: env.LLM_IR_TRAIN_IMAGES, testImages: env.LLM_IR_TEST_IMAGES });
if (env.LLM_IR_DATA_HASH !== want) {
  console.error(`LLM_IR_DATA_HASH (${env.LLM_IR_DATA_HASH}) is not the hash of the data named by LLM_IR_TRAIN, LLM_IR_TEST and the image folders (${want}): the arms would be looked up under another data's key`);
  process.exit(2);
}
