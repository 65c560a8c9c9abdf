/** The two challenge tasks: one image -> scene label, or a dialogue -> intent label. */
export type Task = 'scene' | 'intent';

/** All tasks, in a stable order. */
export const TASKS: readonly Task[] = ['scene', 'intent'];

/** A reference to an image file, by path relative to an images folder. */
export interface ImageRef {
  /** Path relative to the images folder, as in the challenge's `image` list. */
  path: string;
  /** Hex SHA-256 of the file's bytes, once known. */
  sha256?: string;
}

/** One turn of a dialogue. */
export interface Turn {
  /** Who speaks: the customer (`用户`) or the agent (`客服`). */
  role: 'user' | 'agent';
  /** The turn's text with each `<image>` placeholder kept in place. */
  text: string;
  /** Images of this turn, bound in order to its `<image>` placeholders. */
  images: ImageRef[];
}

/** One line of OCR output. */
export interface OcrLine {
  /** Recognised text. */
  text: string;
  /** Confidence in [0, 1]. */
  confidence: number;
  /** Bounding box normalised to [0, 1]: x1, y1 (top left), x2, y2 (bottom right). */
  box: [x1: number, y1: number, x2: number, y2: number];
}

/**
 * The prompt around a sample's content, as found in the challenge instruction. Kept so that a
 * parsed row writes back byte for byte; a sample without it is written with the official prompt.
 */
export interface PromptFrame {
  /** Text before the content (scene: before the task text; intent: before the START marker). */
  head: string;
  /** Text after the content, up to the label list. */
  beforeLabels: string;
  /** Labels offered in the prompt, in order. */
  labels: string[];
  /** Text after the label list. */
  tail: string;
}

/** One example: an image-scene row or a dialogue-intent row. */
export interface Sample {
  /** Row id (unique within a file). */
  id: string;
  /** The task. */
  task: Task;
  /** The dialogue; scene rows have a single user turn that holds the image. */
  turns: Turn[];
  /** Gold label (canonical Chinese label), when known. */
  label?: string;
  /** OCR lines by image SHA-256 (or by image path when no hash is known). */
  ocr?: Record<string, OcrLine[]>;
  /** Id of the row this one was derived from (augmentation lineage). */
  parentId?: string;
  /** The prompt frame, when the sample came from a challenge row. */
  prompt?: PromptFrame;
  /** Free metadata (JSON-serialisable). */
  meta?: Record<string, unknown>;
}

/** A model's answer for one row. */
export interface Prediction {
  /** Row id. */
  id: string;
  /** Task of the row. */
  task: Task;
  /** Predicted canonical label. */
  label: string;
  /** Probability per label, when the model gives them. */
  probs?: Record<string, number>;
}

/** One row of the challenge's JSON files. */
export interface ChallengeRow {
  /** Row id. */
  id: string;
  /** The full prompt, with `<image>` placeholders. */
  instruction: string;
  /** Always empty in the official data. */
  input: string;
  /** Gold label; empty or absent on unlabelled rows. */
  output?: string;
  /** Image file names, bound in order to the `<image>` placeholders. */
  image: string[];
}

/** Options of {@link Classifier.fit}. */
export interface FitOptions {
  /** Cancels training. */
  signal?: AbortSignal;
  /** Called with progress events. */
  onProgress?: (event: import('./progress.ts').ProgressEvent) => void;
  /** Seed for anything random in training. */
  seed?: number;
}

/**
 * A trainable classifier over samples. Every model of llm-ir (kNN, CPU student, teacher wrappers)
 * implements it, so evaluation and ablations can swap them.
 */
export interface Classifier {
  /** Trains on labelled samples (rows without a label are ignored unless the model says otherwise). */
  fit(samples: readonly Sample[], options?: FitOptions): Promise<void>;
  /** Predicts a label and per-label probabilities for each sample, in input order. */
  predictProba(samples: readonly Sample[], options?: { signal?: AbortSignal }): Promise<Prediction[]>;
}
