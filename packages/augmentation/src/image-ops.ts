import sharp, { type Sharp } from 'sharp';
import { ConfigValidationError } from '@llm-ir/core';
import { type Rng } from '@llm-ir/core/run';

/** Names of the image operations. */
export const IMAGE_OPS = ['crop', 'rotate', 'color', 'noise', 'blur', 'jpeg', 'scale', 'statusbar', 'letterbox', 'flip'] as const;
/** One image operation's name. */
export type ImageOpName = (typeof IMAGE_OPS)[number];

/** An operation in an explicit policy: its name, the probability it runs, and optional fixed parameters. */
export interface ImageOpSpec {
  /** Operation. */
  op: ImageOpName;
  /** Probability it runs. @default 1 */
  p?: number;
  /** Strength in [0, 10] (RandAugment's magnitude) when parameters are drawn. @default 5 */
  magnitude?: number;
}

/**
 * An image augmentation policy: RandAugment (`n` operations drawn uniformly from `ops` at magnitude
 * `m` in [0, 10]) or an explicit list applied in order, each with a probability.
 */
export type ImagePolicy = { kind: 'randaugment'; n: number; m: number; ops?: readonly ImageOpName[] } | { kind: 'list'; ops: readonly ImageOpSpec[] };

/** Operations RandAugment draws from by default (flip is off: mirrored text is unrealistic). */
export const DEFAULT_IMAGE_OPS: readonly ImageOpName[] = ['crop', 'rotate', 'color', 'noise', 'blur', 'jpeg', 'scale', 'statusbar', 'letterbox'];

/** The default policy: 2 random operations at magnitude 5. */
export const DEFAULT_IMAGE_POLICY: ImagePolicy = { kind: 'randaugment', n: 2, m: 5 };

/** One applied operation with the parameters drawn for it (recorded on augmented rows). */
export interface AppliedOp {
  /** Operation. */
  op: ImageOpName;
  /** Its parameters, rounded. */
  params: Record<string, number | string>;
}

interface Img {
  data: Buffer;
  width: number;
  height: number;
}

const CH = 3;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function viaSharp(img: Img, f: (s: Sharp) => Sharp): Promise<Img> {
  const { data, info } = await f(sharp(img.data, { raw: { width: img.width, height: img.height, channels: CH } }))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Draws parameters for an operation at magnitude m (0..10) and applies it. */
async function apply(op: ImageOpName, img: Img, m: number, rng: Rng): Promise<{ img: Img; params: AppliedOp['params'] }> {
  const s = Math.min(10, Math.max(0, m)) / 10;
  switch (op) {
    case 'crop': {
      // random-resized crop keeping at least (1 - 0.4 s) of the area, aspect jitter, resized back
      const area = rng.uniform(1 - 0.4 * s, 1);
      const aspect = Math.exp(rng.uniform(-0.15 * s, 0.15 * s));
      const w = Math.max(8, Math.min(img.width, Math.round(Math.sqrt(area * aspect) * img.width)));
      const h = Math.max(8, Math.min(img.height, Math.round(Math.sqrt(area / aspect) * img.height)));
      const left = rng.int(img.width - w + 1);
      const top = rng.int(img.height - h + 1);
      const out = await viaSharp(img, (x) => x.extract({ left, top, width: w, height: h }).resize({ width: img.width, height: img.height, fit: 'fill' }));
      return { img: out, params: { left, top, width: w, height: h } };
    }
    case 'rotate': {
      // small rotation filled with white, then the centre cut back to the original size
      const angle = r3(rng.uniform(-1, 1) * 12 * s);
      const rotated = await viaSharp(img, (x) => x.rotate(angle, { background: '#ffffff' }));
      const left = Math.max(0, Math.floor((rotated.width - img.width) / 2));
      const top = Math.max(0, Math.floor((rotated.height - img.height) / 2));
      const out = await viaSharp(rotated, (x) => x.extract({ left, top, width: Math.min(img.width, rotated.width), height: Math.min(img.height, rotated.height) }));
      return { img: out, params: { angle } };
    }
    case 'color': {
      const brightness = r3(1 + rng.uniform(-0.4, 0.4) * s);
      const saturation = r3(1 + rng.uniform(-0.6, 0.6) * s);
      const hue = Math.round(rng.uniform(-30, 30) * s);
      const contrast = r3(1 + rng.uniform(-0.4, 0.4) * s);
      const out = await viaSharp(img, (x) => x.modulate({ brightness, saturation, hue }).linear(contrast, 128 * (1 - contrast)));
      return { img: out, params: { brightness, saturation, hue, contrast } };
    }
    case 'noise': {
      // Gaussian noise added in JS with the seeded generator (visible on white screenshots, reproducible)
      const sigma = r3(2 + 18 * s);
      const data = Buffer.from(img.data);
      for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(data[i]! + sigma * rng.normal())));
      return { img: { ...img, data }, params: { sigma } };
    }
    case 'blur': {
      const sigma = r3(0.3 + 1.7 * s * rng.float());
      return { img: await viaSharp(img, (x) => x.blur(sigma)), params: { sigma } };
    }
    case 'jpeg': {
      const quality = Math.round(95 - rng.float() * 65 * s);
      const encoded = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: CH } }).jpeg({ quality }).toBuffer();
      const { data, info } = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { img: { data, width: info.width, height: info.height }, params: { quality } };
    }
    case 'scale': {
      // down then up: resolution loss of a forwarded screenshot
      const factor = r3(1 - 0.6 * s * rng.uniform(0.5, 1));
      const w = Math.max(8, Math.round(img.width * factor));
      const h = Math.max(8, Math.round(img.height * factor));
      const small = await viaSharp(img, (x) => x.resize({ width: w, height: h, fit: 'fill' }));
      return { img: await viaSharp(small, (x) => x.resize({ width: img.width, height: img.height, fit: 'fill' })), params: { factor } };
    }
    case 'statusbar': {
      // cut the phone status bar (top 3-7 %), as users' crops do
      const cut = Math.max(1, Math.round(img.height * (0.03 + 0.04 * rng.float() * Math.max(s, 0.25))));
      if (cut >= img.height - 8) return { img, params: { cut: 0 } };
      return { img: await viaSharp(img, (x) => x.extract({ left: 0, top: cut, width: img.width, height: img.height - cut })), params: { cut } };
    }
    case 'letterbox': {
      // pad to a phone or square aspect with a flat colour
      const target = rng.pick([9 / 19.5, 9 / 16, 1, 3 / 4]);
      const fill = rng.pick(['#ffffff', '#000000', '#f2f2f2']);
      const w = Math.max(img.width, Math.round(img.height * target));
      const h = Math.max(img.height, Math.round(img.width / target));
      const left = Math.floor((w - img.width) / 2);
      const top = Math.floor((h - img.height) / 2);
      const out = await viaSharp(img, (x) => x.extend({ left, right: w - img.width - left, top, bottom: h - img.height - top, background: fill }));
      return { img: out, params: { aspect: r3(target), fill } };
    }
    case 'flip':
      return { img: await viaSharp(img, (x) => x.flop()), params: {} };
    default:
      throw new ConfigValidationError({ issues: [{ path: 'op', message: `unknown image op ${String(op)}` }] });
  }
}

/** Options of {@link augmentImage}. */
export interface AugmentImageOptions {
  /** Output encoding. @default 'jpeg' */
  format?: 'jpeg' | 'png';
  /** JPEG quality of the output. @default 90 */
  quality?: number;
}

/**
 * Augments one image with a policy. The image is decoded once (EXIF orientation applied, alpha
 * flattened on white), each operation runs on raw pixels, and the result is encoded once.
 * Deterministic: the same bytes, policy and generator state give byte-identical output.
 *
 * @example
 * ```ts
 * const { data, applied } = await augmentImage(bytes, { kind: 'randaugment', n: 2, m: 6 }, createRng('row-1#aug0'));
 * ```
 */
export async function augmentImage(input: Uint8Array | string, policy: ImagePolicy, rng: Rng, options: AugmentImageOptions = {}): Promise<{ data: Buffer; applied: AppliedOp[]; width: number; height: number }> {
  const { data, info } = await sharp(input).autoOrient().flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let img: Img = { data, width: info.width, height: info.height };
  const plan: Array<{ op: ImageOpName; m: number }> = [];
  if (policy.kind === 'randaugment') {
    const ops = policy.ops ?? DEFAULT_IMAGE_OPS;
    for (let k = 0; k < policy.n; k++) plan.push({ op: rng.pick(ops), m: policy.m });
  } else {
    for (const spec of policy.ops) if (rng.bernoulli(spec.p ?? 1)) plan.push({ op: spec.op, m: spec.magnitude ?? 5 });
  }
  const applied: AppliedOp[] = [];
  for (const step of plan) {
    const r = await apply(step.op, img, step.m, rng.fork(`${applied.length}:${step.op}`));
    img = r.img;
    applied.push({ op: step.op, params: r.params });
  }
  const out = sharp(img.data, { raw: { width: img.width, height: img.height, channels: CH } });
  const encoded = options.format === 'png' ? await out.png().toBuffer() : await out.jpeg({ quality: options.quality ?? 90 }).toBuffer();
  return { data: encoded, applied, width: img.width, height: img.height };
}
