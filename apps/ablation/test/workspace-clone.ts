// A second checkout of this workspace for the turbo tests, made without a network: sources copied,
// node_modules linked to this checkout's install.
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This checkout's root folder. */
export const root = fileURLToPath(new URL('../../../', import.meta.url));
// what a fresh clone does not have (build outputs, caches, results, the generated demo data)
const skip = new Set(['node_modules', 'dist', '.turbo', 'results', '.llm-ir-cache', 'runs', '.git', 'demo', 'coverage']);

/**
 * Copies the workspace to `dir` (created if missing): sources and configs, not what a fresh clone
 * lacks. node_modules is a folder of links to this checkout's installed packages, but the workspace's
 * own packages link into the copy (as npm ci would lay them out there); a workspace's own
 * node_modules (versions that differ from the hoisted ones) is linked too. Returns `dir`.
 */
export function cloneWorkspace(dir: string): string {
  cpSync(root, dir, { recursive: true, filter: (src) => !skip.has(basename(src)) });
  mkdirSync(join(dir, 'node_modules'));
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    // npm links workspaces with relative paths (../../packages/x): copied as links, they point into the copy
    if (entry === '@llm-ir' || entry === '@llm-ir-app') cpSync(join(root, 'node_modules', entry), join(dir, 'node_modules', entry), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(join(root, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  for (const ws of ['packages', 'apps']) for (const name of readdirSync(join(root, ws))) if (existsSync(join(root, ws, name, 'node_modules'))) symlinkSync(join(root, ws, name, 'node_modules'), join(dir, ws, name, 'node_modules'));
  return dir;
}
