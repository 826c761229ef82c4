// The `.NAME.~lock~` sibling lock that every writer of an OVSDB file takes
// (ovsdb-server, `ovsdb-tool transact/compact/convert`).  It is a POSIX record
// lock (fcntl F_SETLK, whole file, write), so the real tools see ours and we
// see theirs.  The lock file itself is never removed on unlock; it is unlinked
// only on a fatal signal, like the real server does.

import fs from 'node:fs';
import path from 'node:path';
import { tryLockFile, unlockFile, strerror } from '../cli/fcntl.ts';
import { coverageInc } from '../server/coverage.ts';
import { addFileToUnlink, removeFileToUnlink } from '../cli/fatal-signal.ts';
import { getLogger } from '../cli/vlog.ts';

const log = getLogger('lockfile');

const EAGAIN = 11;
const EDEADLK = 35;

/** An I/O error while locking; `message` is the exact OVS error string. */
export class LockfileError extends Error {
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.name = 'LockfileError';
    this.errno = errno;
  }
}

/**
 * Follow symlinks of `file` itself (not of its directories), joining a relative
 * link target to the link's directory textually ("sub/l" -> "../db" gives
 * "sub/../db"), as the real tools print it.
 */
export function followSymlinks(file: string): string {
  let f = file;
  for (let i = 0; i < 10; i++) {
    let target: string;
    try {
      if (!fs.lstatSync(f).isSymbolicLink()) return f;
      target = fs.readlinkSync(f);
    } catch {
      return f;
    }
    if (target.startsWith('/')) {
      f = target;
    } else {
      const slash = f.lastIndexOf('/');
      f = slash >= 0 ? f.slice(0, slash + 1) + target : target;
    }
  }
  return f;
}

/** `.<basename>.~lock~` beside the file that `file` finally points to. */
export function lockfileName(file: string): string {
  const real = followSymlinks(file);
  const slash = real.lastIndexOf('/');
  return slash >= 0 ? `${real.slice(0, slash + 1)}.${real.slice(slash + 1)}.~lock~` : `.${real}.~lock~`;
}

// Locks held by this process, by lock-file device:inode: a second F_SETLK from
// the same process would silently succeed, so detect it here.
const held = new Map<string, Lockfile>();

export class Lockfile {
  private constructor(
    /** The lock file path as OVS prints it. */
    readonly lockPath: string,
    private fd: number | null,
    private readonly key: string,
  ) {}

  /**
   * Lock the OVSDB file `file`.  Throws LockfileError with the exact text
   * `I/O error: <file>: failed to lock lockfile (<strerror>)` after logging the
   * `lockfile|WARN|...` line when another process (or this one) holds it.
   */
  static lock(file: string): Lockfile {
    coverageInc('lockfile_lock');
    try {
      return Lockfile.tryLock(file);
    } catch (e) {
      coverageInc('lockfile_error');
      throw e;
    }
  }

  private static tryLock(file: string): Lockfile {
    const lockPath = lockfileName(file);
    let fd: number;
    try {
      fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const errno = Math.abs(err.errno ?? 0);
      log.warn(`${lockPath}: failed to open lock file: ${strerror(errno)}`);
      throw new LockfileError(`I/O error: ${file}: failed to lock lockfile (${strerror(errno)})`, errno);
    }
    const st = fs.fstatSync(fd);
    const key = `${st.dev}:${st.ino}`;
    if (held.has(key)) {
      // Closing fd here would drop the lock we already hold: keep it open until exit.
      log.warn(`${lockPath}: cannot lock file because this process has already locked it`);
      strayFds.push(fd);
      throw new LockfileError(`I/O error: ${file}: failed to lock lockfile (${strerror(EDEADLK)})`, EDEADLK);
    }
    const r = tryLockFile(fd);
    if (!r.ok) {
      fs.closeSync(fd);
      log.warn(`${lockPath}: cannot lock file because it is already locked by pid ${r.pid}`);
      throw new LockfileError(`I/O error: ${file}: failed to lock lockfile (${strerror(EAGAIN)})`, EAGAIN);
    }
    const lf = new Lockfile(lockPath, fd, key);
    held.set(key, lf);
    addFileToUnlink(path.resolve(lockPath));
    return lf;
  }

  get locked(): boolean {
    return this.fd !== null;
  }

  /** Release the lock (the lock file stays on disk). */
  unlock(): void {
    if (this.fd === null) return;
    try {
      unlockFile(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
      held.delete(this.key);
      removeFileToUnlink(path.resolve(this.lockPath));
      coverageInc('lockfile_unlock');
    }
  }
}

const strayFds: number[] = [];
