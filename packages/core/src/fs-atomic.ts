import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same folder, which is then
 * renamed over the target. A reader never sees a half-written file, and a killed process leaves the
 * old file (or none). Creates missing parent folders.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Writes a file atomically from an (async) iterable of chunks, in constant memory.
 * The target appears only once every chunk is written.
 */
export async function writeStreamAtomic(
  path: string,
  chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const out = createWriteStream(tmp);
  try {
    for await (const chunk of chunks) {
      // events.once rejects on 'error' and removes both listeners when either fires
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
    await rename(tmp, path);
  } catch (error) {
    out.destroy();
    await rm(tmp, { force: true });
    throw error;
  }
}
