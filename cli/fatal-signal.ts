// Fatal-signal cleanup, as OVS does it: files registered here (pidfile, unix
// socket files, DB lock files) are unlinked and hooks run when the process is
// killed by SIGTERM, SIGINT, SIGHUP or SIGALRM, and then the process dies of
// that same signal (so a parent/monitor sees "killed by signal").
//
// Normal exit is different: exitCleanup() runs only the hooks registered for
// exit (the pidfile is removed, lock files stay, as with the real server).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGALRM'];

const filesToUnlink = new Set<string>();
const hooks: Array<{ fn: () => void; runAtExit: boolean }> = [];
let installed = false;
let ran = false;

/** Unlink `file` if the process dies of a fatal signal. */
export function addFileToUnlink(file: string): void {
  install();
  // Absolute now: a later chdir('/') (after --detach) must not change its meaning.
  filesToUnlink.add(path.resolve(file));
}

/** Forget `file` (e.g. after it was removed normally). */
export function removeFileToUnlink(file: string): void {
  filesToUnlink.delete(path.resolve(file));
}

/** Unlink `file` now and stop tracking it. */
export function unlinkFileNow(file: string): void {
  filesToUnlink.delete(path.resolve(file));
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Run `fn` on a fatal signal, and also at normal process exit when
 * `runAtExit` is true.  Hooks must be synchronous.
 */
export function addCleanupHook(fn: () => void, runAtExit = false): void {
  install();
  hooks.push({ fn, runAtExit });
}

function runHooks(atExit: boolean): void {
  for (const h of hooks.splice(0)) {
    if (!atExit || h.runAtExit) {
      try {
        h.fn();
      } catch {
        // keep cleaning up
      }
    } else {
      hooks.push(h);
    }
  }
}

/** The cleanup done on a fatal signal: hooks, then every registered file. */
export function fatalCleanup(): void {
  if (ran) return;
  ran = true;
  runHooks(false);
  for (const f of filesToUnlink) {
    try {
      fs.unlinkSync(f);
    } catch {
      // already gone
    }
  }
  filesToUnlink.clear();
}

/** Cleanup for a normal exit (runs the exit hooks once; lock files stay). */
export function exitCleanup(): void {
  if (ran) return;
  ran = true;
  runHooks(true);
}

// strsignal(3) texts, for the log line.
const SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGTERM: 'Terminated',
  SIGINT: 'Interrupt',
  SIGHUP: 'Hangup',
  SIGALRM: 'Alarm clock',
};

let signalLogger: ((msg: string) => void) | null = null;

/** Where "terminating with signal N (NAME)" goes (the server's vlog); unset, nothing is logged. */
export function setSignalLogger(fn: (msg: string) => void): void {
  signalLogger = fn;
}

function onSignal(sig: NodeJS.Signals): void {
  try {
    signalLogger?.(`terminating with signal ${os.constants.signals[sig]} (${SIGNAL_TEXT[sig] ?? sig})`);
  } catch {
    // logging must not stop the cleanup
  }
  fatalCleanup();
  // Die of the same signal, like a C program returning from its handler.
  for (const s of FATAL_SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of FATAL_SIGNALS) process.on(s, onSignal);
  process.on('exit', exitCleanup);
}

/** Install the handlers even before anything is registered. */
export function installFatalSignalHandlers(): void {
  install();
}
