import { hostname } from 'node:os';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';

/** Who holds a lock file: written into the file when it is taken. */
export interface LockHolder {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder's machine. */
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** A held lock file; `release` removes it (idempotent). */
export interface FileLock {
  /** Path of the lock file. */
  readonly path: string;
  /** Stops the heartbeat and removes the lock file. */
  release(): Promise<void>;
}

/** Options of {@link tryLock}. */
export interface LockOptions {
  /**
   * A lock whose holder has not touched it for this long is taken as left by a killed process and
   * removed. Holders touch their lock every `staleMs / 6`. @default 30000
   */
  staleMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(path: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? { pid: h.pid, host: h.host, since: String(h.since ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes a cross-process lock file (created exclusively, holding its holder's pid, host and start
 * time, touched by a heartbeat while held), or says who holds it. A lock is taken over when its
 * holder is a dead process on this host, or when nobody has touched it for `staleMs` (a holder on
 * another host of a shared filesystem that was killed). Works on local and NFS-style shared folders
 * that honour `O_EXCL`.
 *
 * @example
 * ```ts
 * const r = await tryLock('runs/a/.lock');
 * if ('holder' in r) throw new Error(`in use by pid ${r.holder.pid} on ${r.holder.host}`);
 * try { ... } finally { await r.lock.release(); }
 * ```
 */
export async function tryLock(path: string, options: LockOptions = {}): Promise<{ lock: FileLock } | { holder: LockHolder }> {
  const staleMs = options.staleMs ?? 30_000;
  for (let attempt = 0; ; attempt++) {
    let handle;
    try {
      handle = await open(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await holderOf(path);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue; // released between our open and stat: try again
      const dead = holder !== undefined && holder.host === hostname() && holder.pid !== process.pid && !alive(holder.pid);
      if (attempt < 2 && (dead || Date.now() - st.mtimeMs > staleMs)) {
        // remove it only if it is still the file we judged (another process may have taken over)
        const again = await stat(path).catch(() => undefined);
        if (again && again.ino === st.ino && again.mtimeMs === st.mtimeMs) await rm(path, { force: true });
        continue;
      }
      // a lock file being written has no holder yet: report it as held by an unknown process
      return { holder: holder ?? { pid: 0, host: 'unknown', since: new Date(st.mtimeMs).toISOString() } };
    }
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    try {
      await handle.writeFile(JSON.stringify(holder));
    } finally {
      await handle.close();
    }
    const beat = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    }, Math.max(10, staleMs / 6));
    beat.unref();
    let released = false;
    return {
      lock: {
        path,
        async release() {
          if (released) return;
          released = true;
          clearInterval(beat);
          await rm(path, { force: true });
        },
      },
    };
  }
}
