// Paths of the shared datasets, for tests and benches only (never shipped: excluded from the build).
import { fileURLToPath } from 'node:url';

/** Root of the shared datasets folder beside the project checkout. */
const SHARED_DATASETS = fileURLToPath(new URL('../../../../../shared/datasets/', import.meta.url));
/** The official challenge folder. */
const MIRE_DIR = `${SHARED_DATASETS}www2025-mire/`;
/** The official training rows. */
export const MIRE_TRAIN = `${MIRE_DIR}train.json`;
/** The official images. */
export const MIRE_IMAGES = `${MIRE_DIR}images`;
