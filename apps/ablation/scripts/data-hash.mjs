// The fingerprint of an ablation's data that turbo keys the arm tasks on (LLM_IR_DATA_HASH): the
// bytes of the train and test files and of every file below the image folders, by relative path. Paths are not in
// it, so two clones of the repository (a lab's machines, each with its own checkout and copy of the
// data) compute the same task hashes and share arm results through a turbo remote cache.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * sha256 over the train and test files and every file below the image folders (sorted by relative
 * path; each folder once when train and test share it).
 * @param {{ train: string, test: string, trainImages: string, testImages: string }} data
 * @returns {string} hex digest
 */
export function dataHash({ train, test, trainImages, testImages }) {
  const h = createHash('sha256');
  const part = (label, bytes) => h.update(`${label}\0${bytes.length}\0`).update(bytes);
  part('train', readFileSync(train));
  part('test', readFileSync(test));
  for (const [label, dir] of trainImages === testImages ? [['images', trainImages]] : [['train-images', trainImages], ['test-images', testImages]]) {
    // every file below the folder (rows may name images in subfolders), by its relative path
    // (a symlink counts by what it points to: a linked image is hashed by its bytes)
    const files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .map((f) => join(f.parentPath ?? f.path, f.name))
      .filter((path) => statSync(path).isFile())
      .map((path) => relative(dir, path).split(sep).join('/'));
    for (const name of files.sort()) part(`${label}/${name}`, readFileSync(join(dir, name)));
  }
  return h.digest('hex');
}
