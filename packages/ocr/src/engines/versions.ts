import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const known = new Map<string, string>();

/**
 * The installed version of a dependency (its package.json), so that engine ids — and with them the
 * OCR cache keys — change when a model or runtime package is upgraded. Read from the node_modules
 * folders Node would search, so packages whose `exports` hide `package.json` are found too.
 */
export function packageVersion(name: string): string {
  const hit = known.get(name);
  if (hit) return hit;
  let version = 'unknown';
  // the node_modules folders Node would search, whatever the package's `exports` allow
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = join(dir, name, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) {
        version = pkg.version;
        break;
      }
    } catch {
      // unreadable: keep looking
    }
  }
  known.set(name, version);
  return version;
}
