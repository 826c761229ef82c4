// `--detach`, `--monitor`, `--pidfile`, `--no-chdir` for a Node process.
//
// Node cannot fork(), so each stage re-spawns this same script
// (process.execPath + process.execArgv + argv) with an environment marker:
//
//   foreground ──spawn(setsid)──▶ detached child ──spawn──▶ daemon      (--detach --monitor)
//   foreground ──spawn(setsid)──▶ daemon                                (--detach)
//   foreground = monitor ──spawn──▶ daemon                              (--monitor)
//
// Each waiting stage reads one byte on fd 3 ("startup complete") from the stage
// it spawned.  The daemon writes it from notifyStartupComplete().  stdio stays
// inherited until then, so startup errors reach the user's terminal; after it
// a detached process points fds 0-2 at /dev/null (dup2 via koffi) so that a
// caller reading our stderr sees EOF.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { libc } from './libc.ts';
import { createPidfile, PidfileError, type Pidfile } from './pidfile.ts';
import { installFatalSignalHandlers, addCleanupHook, fatalCleanup } from './fatal-signal.ts';
import { getLogger, setConsoleFd, vlogSequence, STAGE_ENV, SEQ_ENV } from './vlog.ts';
import type { JsonValue } from '../schema/json.ts';

const log = getLogger('daemon_unix');

export { STAGE_ENV };
/** Set in the daemon when it runs detached (its stdio must be closed after startup). */
const DETACHED_ENV = 'OVSDB_TS_DAEMON_DETACHED';
/** Path of the JSON runtime-state file shared across --monitor restarts. */
export const STATE_ENV = 'OVSDB_TS_DAEMON_STATE';

const NOTIFY_FD = 3;
const PROGRAM = 'ovsdb-server';

/** Signals after which --monitor restarts the daemon (crashes, not requests to stop). */
export const RESTART_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGABRT', 'SIGALRM', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGPIPE', 'SIGSEGV', 'SIGXCPU', 'SIGXFSZ',
];

export interface DaemonOptions {
  detach: boolean;
  monitor: boolean;
  noChdir: boolean;
  /** Absolute pidfile path (see resolvePidfilePath), or null for no pidfile. */
  pidfile: string | null;
  overwritePidfile: boolean;
}


let notifyFd: number | null = null;
let detached = false;
let noChdir = false;
let startupNotified = false;
let pidfile: Pidfile | null = null;
const originalCwd = process.cwd();

/** Describe how a child ended, as OVS does ("exit status 3", "killed (SIGSEGV)"). */
export function describeStatus(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed (${signal})`;
  return `exit status ${code ?? 0}`;
}

function selfCommand(): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)] };
}

function spawnStage(stage: string, extraEnv: Record<string, string>, setsid: boolean): ChildProcess {
  const { cmd, args } = selfCommand();
  return spawn(cmd, args, {
    // A restarted daemon must resolve relative paths (DBs, punix:) as the first one did.
    cwd: originalCwd,
    detached: setsid,
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, ...extraEnv, [STAGE_ENV]: stage, [SEQ_ENV]: String(vlogSequence()) },
  });
}

/**
 * Wait until `child` reports startup on its fd 3.  Resolves 'ready', or the
 * child's fate if it died first.
 */
function waitForStartup(
  child: ChildProcess,
): Promise<{ ready: true } | { ready: false; code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    let done = false;
    const pipe = child.stdio[NOTIFY_FD] as NodeJS.ReadableStream | null;
    pipe?.on('data', () => {
      if (done) return;
      done = true;
      resolve({ ready: true });
    });
    pipe?.on('error', () => {});
    child.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      resolve({ ready: false, code, signal });
    });
  });
}

function die(msg: string): never {
  log.emer(msg);
  process.exit(1);
}

/** Exit the way `code`/`signal` say (re-raising a signal on ourselves). */
function exitLike(code: number | null, signal: NodeJS.Signals | null): never {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
}

function closeStdio(): void {
  const cDup2 = libc().func('int dup2(int oldfd, int newfd)') as (a: number, b: number) => number;
  const devnull = fs.openSync('/dev/null', 'r+');
  for (const fd of [0, 1, 2]) cDup2(devnull, fd);
  fs.closeSync(devnull);
  setConsoleFd(null); // console lines would only go to /dev/null now
}

function sendNotify(): void {
  if (notifyFd === null) return;
  try {
    fs.writeSync(notifyFd, '\0');
  } catch {
    // the waiting parent is gone: nothing to tell
  }
  try {
    fs.closeSync(notifyFd);
  } catch {
    // ignore
  }
  notifyFd = null;
}

// ---------------------------------------------------------------------------
// Foreground stage with --detach: spawn, wait, exit.

async function runDetachParent(): Promise<never> {
  const child = spawnStage('detached', { [DETACHED_ENV]: '1' }, true);
  const r = await waitForStartup(child);
  if (r.ready) {
    child.unref();
    process.exit(0);
  }
  if (r.signal) die(`fork child died before signaling startup (${describeStatus(r.code, r.signal)})`);
  process.exit(r.code ?? 1);
}

// ---------------------------------------------------------------------------
// Monitor stage.

async function runMonitor(): Promise<never> {
  const stateFile = ensureStateFile();
  const cleanupState = () => {
    try {
      fs.unlinkSync(stateFile);
    } catch {
      // ignore
    }
  };
  let crashes = 0;
  let lastRestart = -Infinity;
  let first = true;
  // A fatal signal to the monitor should not leave its state file behind.
  addCleanupHook(cleanupState, true);
  for (;;) {
    const child = spawnStage('daemon', { [STATE_ENV]: stateFile, ...(detached ? { [DETACHED_ENV]: '1' } : {}) }, false);
    process.title = `${PROGRAM}: monitoring pid ${child.pid} (${crashes ? `${crashes} crashes` : 'healthy'})`;
    setComm(PROGRAM);
    if (first) {
      const r = await waitForStartup(child);
      if (!r.ready) {
        if (r.signal) die(`fork child died before signaling startup (${describeStatus(r.code, r.signal)})`);
        process.exit(r.code ?? 1);
      }
      first = false;
      sendNotify();
      if (detached) {
        closeStdio();
        if (!noChdir) process.chdir('/');
      }
    } else {
      (child.stdio[NOTIFY_FD] as NodeJS.ReadableStream | null)?.resume();
    }
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
        } else child.on('exit', (c, s) => resolve({ code: c, signal: s }));
      },
    );
    const status = describeStatus(code, signal);
    if (signal && RESTART_SIGNALS.includes(signal)) {
      crashes++;
      const now = Date.now();
      // Restart at once after the first crash, then at most every 10 seconds.
      if (now < lastRestart + 10_000) {
        log.warn(`${crashes} crashes: pid ${child.pid} died, ${status}, waiting until 10 seconds since last restart`);
        await new Promise((r) => setTimeout(r, lastRestart + 10_000 - now));
      } else {
        log.err(`${crashes} crashes: pid ${child.pid} died, ${status}, restarting`);
      }
      lastRestart = Date.now();
      continue;
    }
    log.info(`pid ${child.pid} died, ${status}, exiting`);
    fatalCleanup(); // state file and its directory; exitLike() may die of a signal without exit hooks
    exitLike(code, signal);
  }
}

function setComm(name: string): void {
  try {
    fs.writeFileSync('/proc/self/comm', name);
  } catch {
    // not Linux, or not allowed: process.title already did its best
  }
}

function ensureStateFile(): string {
  const existing = process.env[STATE_ENV];
  if (existing) return existing;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovsdb-server-state-'));
  const file = path.join(dir, 'state.json');
  fs.writeFileSync(file, '', { mode: 0o600 });
  // The directory is only a private place for the file: remove it with the file.
  addCleanupHook(() => fs.rmSync(dir, { recursive: true, force: true }), true);
  return file;
}

// ---------------------------------------------------------------------------
// Public API

export interface DaemonContext {
  /** The pidfile held by this (daemon) process, if any. */
  pidfile: Pidfile | null;
  /** True if this process was restarted by --monitor after a crash. */
  restarted: boolean;
  /** Runtime state saved by a previous incarnation (see saveRuntimeState), or null. */
  savedState: JsonValue | null;
}

/**
 * Turn this process into the daemon the options ask for.  Resolves only in the
 * process that should run the server; the foreground parent of --detach and
 * the --monitor supervisor never return from here (they exit).  In the daemon
 * it creates the pidfile (exiting 1 with `ovsdb-server: <msg>` on failure) and
 * installs fatal-signal cleanup.  Call notifyStartupComplete() once the
 * databases, listeners and unixctl socket are up.
 */
export async function daemonize(opts: DaemonOptions): Promise<DaemonContext> {
  const stage = process.env[STAGE_ENV];
  delete process.env[STAGE_ENV]; // not for our own children (--run)
  detached = process.env[DETACHED_ENV] === '1';
  delete process.env[DETACHED_ENV];
  noChdir = opts.noChdir;
  installFatalSignalHandlers();

  if (stage === undefined) {
    if (opts.detach) return runDetachParent();
    if (opts.monitor) return runMonitor();
  } else if (stage === 'detached') {
    notifyFd = NOTIFY_FD;
    if (opts.monitor) return runMonitor();
  } else if (stage === 'daemon') {
    notifyFd = NOTIFY_FD;
  }

  process.title = PROGRAM;
  setComm(PROGRAM);

  if (opts.pidfile !== null) {
    try {
      pidfile = createPidfile(opts.pidfile, { overwrite: opts.overwritePidfile });
    } catch (e) {
      if (e instanceof PidfileError) {
        process.stderr.write(`${PROGRAM}: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  }
  const stateFile = process.env[STATE_ENV];
  let savedState: JsonValue | null = null;
  if (stateFile) {
    try {
      const text = fs.readFileSync(stateFile, 'utf8');
      if (text.trim() !== '') savedState = JSON.parse(text) as JsonValue;
    } catch {
      savedState = null;
    }
  }
  return { pidfile, restarted: savedState !== null, savedState };
}

/**
 * Tell whoever waits (the --detach parent, the monitor) that startup is
 * complete.  A detached daemon then closes stdin/stdout/stderr (to /dev/null)
 * and, unless --no-chdir, changes directory to `/`.  Safe to call more than
 * once and in a foreground process (no-op there, apart from nothing).
 */
export function notifyStartupComplete(): void {
  if (startupNotified) return;
  startupNotified = true;
  sendNotify();
  if (detached) {
    closeStdio();
    if (!noChdir) process.chdir('/');
  }
}

/** True once notifyStartupComplete() ran. */
export function isStartupComplete(): boolean {
  return startupNotified;
}

/** True if this process runs detached (after --detach). */
export function isDetached(): boolean {
  return detached;
}

/**
 * Persist runtime configuration for a --monitor restart (the OVS config
 * tmpfile: remotes, db file names, sync-from, ...).  No-op without --monitor.
 */
export function saveRuntimeState(state: JsonValue): void {
  const f = process.env[STATE_ENV];
  if (!f) return;
  const tmp = `${f}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  fs.renameSync(tmp, f);
}

/** The pidfile of this process, if daemonize() created one. */
export function currentPidfile(): Pidfile | null {
  return pidfile;
}
