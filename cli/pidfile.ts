// `--pidfile[=FILE]` / `--overwrite-pidfile`.
//
// ovs-appctl finds a daemon through its pidfile: it asks F_GETLK who holds the
// file's record lock and insists that this pid equals the one written in it.
// So the pidfile is written to a temp file, locked with a whole-file fcntl
// write lock by this very process, then renamed into place; the descriptor is
// kept open (closing any descriptor of the file would drop the lock).

import fs from 'node:fs';
import path from 'node:path';
import { tryLockFile, getLockPid, strerror } from './fcntl.ts';
import { addFileToUnlink, addCleanupHook, removeFileToUnlink } from './fatal-signal.ts';

/** `$OVS_RUNDIR`, else Debian's compiled-in /var/run/openvswitch. */
export function defaultRundir(env: NodeJS.ProcessEnv = process.env): string {
  return env['OVS_RUNDIR'] || '/var/run/openvswitch';
}

/** The pidfile path for `--pidfile[=FILE]`: default name, relative FILE against the run directory. */
export function resolvePidfilePath(file: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const rundir = path.resolve(defaultRundir(env));
  if (!file) return path.join(rundir, 'ovsdb-server.pid');
  return path.resolve(rundir, file);
}

/** A pidfile problem; `message` is the text after `ovsdb-server: `. */
export class PidfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PidfileError';
  }
}

export interface Pidfile {
  readonly path: string;
  readonly pid: number;
  /** Remove the pidfile now (normal exit). */
  remove(): void;
}

/**
 * Pid of the live process holding `file`, or null when nobody does (missing
 * file, no lock, or a stale pidfile).  Like ovs-appctl, the pid written in the
 * file must match the lock holder.
 */
export function readPidfile(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const holder = getLockPid(fd);
    if (holder === null) return null;
    const text = fs.readFileSync(fd, 'utf8');
    const pid = Number.parseInt(text, 10);
    return pid === holder ? pid : null;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Create and lock the pidfile at absolute path `file` for this process.
 * Throws PidfileError (`FILE: already running as pid N, aborting`, ...) on
 * failure.  The file is removed at normal exit and on fatal signals.
 */
export function createPidfile(file: string, opts: { overwrite?: boolean } = {}): Pidfile {
  const pid = process.pid;
  const overwrite = opts.overwrite ?? false;
  const tmp = overwrite ? `${file}.tmp${pid}` : `${file}.tmp`;

  if (!overwrite) {
    const running = readPidfile(file);
    if (running !== null && running !== pid) {
      throw new PidfileError(`${file}: already running as pid ${running}, aborting`);
    }
  }

  let fd: number;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
  } catch (e) {
    throw new PidfileError(`${tmp}: create failed (${errnoText(e)})`);
  }
  addFileToUnlink(tmp);
  const lock = tryLockFile(fd);
  if (!lock.ok) {
    fs.closeSync(fd);
    removeFileToUnlink(tmp);
    // Another instance is between creating and renaming its pidfile.
    throw new PidfileError(`${tmp}: already running as pid ${lock.pid}, aborting`);
  }

  // Now that we hold the temp file, check again: someone may have finished first.
  if (!overwrite) {
    const running = readPidfile(file);
    if (running !== null && running !== pid) {
      fs.closeSync(fd);
      unlinkQuiet(tmp);
      removeFileToUnlink(tmp);
      throw new PidfileError(`${file}: already running as pid ${running}, aborting`);
    }
  }

  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${pid}\n`);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    unlinkQuiet(tmp);
    removeFileToUnlink(tmp);
    throw new PidfileError(`${tmp}: write failed (${errnoText(e)})`);
  }
  addFileToUnlink(file);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.closeSync(fd);
    unlinkQuiet(tmp);
    removeFileToUnlink(tmp);
    removeFileToUnlink(file);
    throw new PidfileError(`failed to rename "${tmp}" to "${file}" (${errnoText(e)})`);
  }
  removeFileToUnlink(tmp);

  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    removeFileToUnlink(file);
    // Only remove it if it is still ours (a --overwrite-pidfile successor may own it now).
    try {
      const a = fs.fstatSync(fd);
      const b = fs.statSync(file);
      if (a.ino === b.ino && a.dev === b.dev) fs.unlinkSync(file);
    } catch {
      // gone already
    }
    fs.closeSync(fd);
  };
  addCleanupHook(remove, true);
  return { path: file, pid, remove };
}

function unlinkQuiet(f: string): void {
  try {
    fs.unlinkSync(f);
  } catch {
    // ignore
  }
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return typeof err.errno === 'number' ? strerror(Math.abs(err.errno)) : String(err.message);
}
