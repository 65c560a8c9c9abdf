import { lstat, open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { LlmIrError } from './errors.ts';

/** Limits applied to every image read. */
export interface ImageLimits {
  /** Largest file size in bytes. @default 20 MiB */
  maxBytes?: number;
  /** Largest width x height in pixels. @default 40,000,000 */
  maxPixels?: number;
  /** Accepted formats, as sharp names them. @default ['jpeg', 'png', 'webp', 'gif', 'bmp', 'tiff'] */
  formats?: readonly string[];
  /** Decode the whole image to catch truncated or corrupt data (slower than a header check). @default true */
  decode?: boolean;
}

/** Default {@link ImageLimits}. */
export const DEFAULT_IMAGE_LIMITS: Required<ImageLimits> = {
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 40_000_000,
  formats: ['jpeg', 'png', 'webp', 'gif', 'bmp', 'tiff'],
  decode: true,
};

/** What {@link checkImage} learnt about a good image. */
export interface ImageInfo {
  /** Absolute path of the file. */
  path: string;
  /** File size in bytes. */
  bytes: number;
  /** Pixel width. */
  width: number;
  /** Pixel height. */
  height: number;
  /** Format as sharp names it (`jpeg`, `png`, ...). */
  format: string;
}

const TRUNCATED = /truncat|premature end|end of (file|data|stream)|short read|unexpected end|incomplete/i;

/**
 * True when a JPEG has no end-of-image marker (FF D9) in its last 4 KiB, or a PNG does not end with
 * its IEND chunk: the file was cut short. Other formats: false (decided by the decoder's message).
 */
async function endsEarly(path: string, size: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const headLen = Math.min(8, size);
    const head = Buffer.alloc(headLen);
    await handle.read(head, 0, headLen, 0);
    const tailLen = Math.min(4096, size);
    const tail = Buffer.alloc(tailLen);
    await handle.read(tail, 0, tailLen, size - tailLen);
    if (head[0] === 0xff && head[1] === 0xd8) return !tail.includes(Buffer.from([0xff, 0xd9]));
    if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return !tail.includes(Buffer.from('IEND'));
    return false;
  } finally {
    await handle.close();
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves an image name from a row against the images folder, refusing anything that would leave
 * it: absolute paths, `..` segments, and links whose target lies outside the folder.
 *
 * @throws {LlmIrError} `path-escape` when the path leaves the folder; `image-missing` when no file is there.
 */
export async function resolveImagePath(imagesDir: string, name: string): Promise<string> {
  const escape = (why: string) => new LlmIrError({ code: 'path-escape', message: `image path ${JSON.stringify(name)} ${why}`, field: 'image' });
  if (name === '' || name.includes('\0')) throw escape('is empty or has a NUL byte');
  if (isAbsolute(name) || /^[a-zA-Z]:[\\/]/.test(name)) throw escape('is absolute');
  if (name.split(/[\\/]/).includes('..')) throw escape('has a ".." segment');
  const root = resolve(imagesDir);
  const target = resolve(root, name);
  if (!isInside(root, target)) throw escape('leaves the images folder');
  try {
    await lstat(target);
  } catch {
    throw new LlmIrError({ code: 'image-missing', message: `image ${JSON.stringify(name)} not found in the images folder`, field: 'image' });
  }
  let real: string;
  try {
    real = await realpath(target);
  } catch {
    throw new LlmIrError({ code: 'image-missing', message: `image ${JSON.stringify(name)} is a broken link`, field: 'image' });
  }
  if (!isInside(await realpath(root), real)) throw escape('is a link that leaves the images folder');
  return real;
}

/**
 * Checks an image file: inside the folder, present, not empty, within the byte and pixel limits,
 * of a supported format, and (by default) fully decodable. Pixel limits are checked from the
 * header before decoding, so a header claiming 60000x60000 pixels is refused without allocating.
 *
 * @throws {LlmIrError} `path-escape`, `image-missing`, `image-empty`, `image-too-large`,
 * `image-unsupported`, `image-corrupt` or `image-truncated`.
 */
export async function checkImage(imagesDir: string, name: string, limits: ImageLimits = {}): Promise<ImageInfo> {
  const lim = { ...DEFAULT_IMAGE_LIMITS, ...limits };
  const path = await resolveImagePath(imagesDir, name);
  const err = (code: string, message: string, cause?: unknown) =>
    new LlmIrError({ code, message: `image ${JSON.stringify(name)}: ${message}`, field: 'image', cause });
  const st = await stat(path);
  if (!st.isFile()) throw err('image-unsupported', 'is not a regular file');
  if (st.size === 0) throw err('image-empty', 'file is empty (0 bytes)');
  if (st.size > lim.maxBytes) throw err('image-too-large', `${st.size} bytes exceeds the limit of ${lim.maxBytes}`);
  const broken = async (what: string, cause: unknown) => {
    const message = (cause as Error).message.split('\n')[0]!;
    // libvips's message can be lost under concurrency ("Unknown error"), so look at the file's end too
    const truncated = (await endsEarly(path, st.size)) || TRUNCATED.test(message);
    return err(truncated ? 'image-truncated' : 'image-corrupt', `${truncated ? 'file ends early: ' : ''}${what} (${message})`, cause);
  };
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw await broken('not a readable image', cause);
  }
  const format = meta.format ?? 'unknown';
  if (!lim.formats.includes(format)) throw err('image-unsupported', `format ${format} is not accepted (${lim.formats.join(', ')})`);
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw err('image-corrupt', 'header gives no size');
  if (width * height > lim.maxPixels) {
    throw err('image-too-large', `${width}x${height} = ${width * height} pixels exceeds the limit of ${lim.maxPixels}`);
  }
  if (lim.decode) {
    try {
      await sharp(path, { failOn: 'truncated', limitInputPixels: lim.maxPixels }).raw().toBuffer();
    } catch (cause) {
      throw await broken('cannot be decoded', cause);
    }
  }
  return { path, bytes: st.size, width, height, format };
}
