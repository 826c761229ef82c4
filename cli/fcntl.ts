// POSIX record locks (fcntl F_SETLK / F_GETLK) through libc, via koffi.
//
// Node has no fcntl binding, and neither flock(2) nor OFD locks are visible the
// way ovs-appctl / ovsdb-tool look for them: they use F_GETLK and compare
// l_pid with the pid written in the pidfile.  So the lock must be a classic
// process-associated record lock, taken by this very process.
//
// Caveat of classic record locks: closing ANY descriptor of the locked file in
// this process drops the lock.  Never open+close a file this process has locked.

import fs from 'node:fs';
import { koffi, libc } from './libc.ts';

// x86_64 / aarch64 Linux values (64-bit off_t; F_GETLK == F_GETLK64 there).
const F_GETLK = 5;
const F_SETLK = 6;
const F_RDLCK = 0;
const F_WRLCK = 1;
const F_UNLCK = 2;
const SEEK_SET = 0;

// struct flock: short l_type; short l_whence; (4 bytes pad) off_t l_start;
// off_t l_len; pid_t l_pid; (4 bytes pad)  => 32 bytes.
const FLOCK_SIZE = 32;
const OFF_TYPE = 0;
const OFF_WHENCE = 2;
const OFF_START = 8;
const OFF_LEN = 16;
const OFF_PID = 24;

type FcntlFn = (...args: unknown[]) => number;
type StrerrorFn = (errnum: number) => string;
let fcntlFn: FcntlFn | null = null;
let strerrorFn: StrerrorFn | null = null;
function cFcntl(...args: unknown[]): number {
  fcntlFn ??= libc().func('int fcntl(int fd, int cmd, ...)') as FcntlFn;
  return fcntlFn(...args);
}
function cStrerror(errnum: number): string {
  strerrorFn ??= libc().func('const char *strerror(int errnum)') as StrerrorFn;
  return strerrorFn(errnum);
}

function makeFlock(type: number): Buffer {
  const b = Buffer.alloc(FLOCK_SIZE);
  b.writeInt16LE(type, OFF_TYPE);
  b.writeInt16LE(SEEK_SET, OFF_WHENCE);
  b.writeBigInt64LE(0n, OFF_START); // whole file: start 0 ...
  b.writeBigInt64LE(0n, OFF_LEN); // ... length 0 = to EOF and beyond
  return b;
}

/** An errno-carrying error, shaped like Node's own fs errors. */
export class FcntlError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(op: string, errno: number) {
    const code = errnoName(errno);
    super(`${op}: ${cStrerror(errno)}`);
    this.errno = errno;
    this.code = code;
  }
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(koffi().os.errno)) {
    if (value === errno) return name;
  }
  return `E${errno}`;
}

/** libc's strerror() text, e.g. "Resource temporarily unavailable" for EAGAIN. */
export function strerror(errno: number): string {
  return cStrerror(errno);
}

export type LockResult = { ok: true } | { ok: false; pid: number; errno: number };

/**
 * Try to take a whole-file write lock on `fd` (non-blocking F_SETLK).  On
 * conflict, reports the holder's pid as F_GETLK sees it (0 if it vanished).
 */
export function tryLockFile(fd: number): LockResult {
  const fl = makeFlock(F_WRLCK);
  if (cFcntl(fd, F_SETLK, 'void *', fl) === 0) return { ok: true };
  const errno = koffi().errno();
  if (errno !== koffi().os.errno.EAGAIN && errno !== koffi().os.errno.EACCES) {
    throw new FcntlError('fcntl(F_SETLK)', errno);
  }
  return { ok: false, pid: getLockPid(fd) ?? 0, errno };
}

/** Release a lock taken with tryLockFile (closing the fd also does it). */
export function unlockFile(fd: number): void {
  const fl = makeFlock(F_UNLCK);
  if (cFcntl(fd, F_SETLK, 'void *', fl) !== 0) {
    throw new FcntlError('fcntl(F_SETLK, F_UNLCK)', koffi().errno());
  }
}

/** F_GETLK on an open fd: pid of another process holding a conflicting lock. */
export function getLockPid(fd: number): number | null {
  const fl = makeFlock(F_WRLCK);
  if (cFcntl(fd, F_GETLK, 'void *', fl) !== 0) {
    throw new FcntlError('fcntl(F_GETLK)', koffi().errno());
  }
  if (fl.readInt16LE(OFF_TYPE) === F_UNLCK) return null;
  return fl.readInt32LE(OFF_PID);
}

/**
 * Pid of the process holding a record lock on `path`, or null if none (or the
 * file does not exist).  Must not be called on a file this process has locked:
 * closing the probe descriptor would drop our own lock.
 */
export function lockHolder(path: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return getLockPid(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// Exported for tests that want to probe read locks too.
export const LOCK_TYPES = { F_RDLCK, F_WRLCK, F_UNLCK } as const;
