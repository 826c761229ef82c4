// `ovsdb-ts appctl`: a drop-in for ovs-appctl (ovs-reference §6.2). Same options, outputs and exit codes:
// 0 success (reply text on stdout), 2 error reply (text on stderr + "server returned an error"),
// 1 usage/transport errors, 142 (the shell's view of SIGALRM) when -T expires.

import fs from 'node:fs';
import net from 'node:net';
import type { JsonValue } from '../schema/json.ts';
import { shortUnixPath } from '../server/jsonrpc-address.ts';
import { JsonRpcConnection, type RpcLogLevel } from '../server/jsonrpc.ts';
import { versionText } from './version.ts';

export interface AppctlIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** Prefix of error lines; "ovs-appctl" (ovn-appctl would pass its own name and OVN_RUNDIR). */
  programName: string;
  rundirEnv: string;
  defaultRundir: string;
  /** Pid of the process holding the fcntl lock on a pidfile, or null; defaults to cli/fcntl.ts lockHolder. */
  lockHolder?: (path: string) => number | null | Promise<number | null>;
}

/** Exit status a shell reports for a process killed by SIGALRM, which is how ovs-appctl -T ends. */
export const APPCTL_TIMEOUT_STATUS = 142;


// glibc strerror texts for the errors a unix-socket client meets.
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTSOCK: 'Socket operation on non-socket',
  ENOTDIR: 'Not a directory',
  ENAMETOOLONG: 'File name too long',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
  ESRCH: 'No such process',
  EPROTOTYPE: 'Protocol wrong type for socket',
  EAGAIN: 'Resource temporarily unavailable',
  EINVAL: 'Invalid argument',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
};

function errText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && STRERROR[code]) return STRERROR[code];
  return e instanceof Error ? e.message : String(e);
}

function helpText(program: string): string {
  return `${program}, for querying and controlling Open vSwitch daemon
usage: ${program} [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/list-pattern  List logging patterns for each destination.
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display ${program} version information
`;
}

class UsageError extends Error {}

interface ParsedArgs {
  target: string;
  timeout: number;
  action: 'run' | 'help' | 'version';
  command: string[];
}

const LONG_OPTIONS: { name: string; arg: boolean; key: string }[] = [
  { name: 'target', arg: true, key: 't' },
  { name: 'timeout', arg: true, key: 'T' },
  { name: 'help', arg: false, key: 'h' },
  { name: 'version', arg: false, key: 'V' },
  { name: 'execute', arg: false, key: 'e' },
];
const SHORT_WITH_ARG = new Set(['t', 'T']);
const SHORT_FLAGS = new Set(['h', 'V', 'e']);

// getopt_long with a leading '+': options stop at the first non-option argument.
function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { target: 'ovs-vswitchd', timeout: 0, action: 'run', command: [] };
  const apply = (key: string, value: string | undefined): void => {
    if (key === 't') out.target = value!;
    else if (key === 'T') {
      if (!/^[0-9]+$/.test(value!) || Number(value) <= 0) {
        throw new UsageError(`value ${value} on -T or --timeout is invalid`);
      }
      out.timeout = Number(value);
    } else if (key === 'h') out.action = out.action === 'run' ? 'help' : out.action;
    else if (key === 'V') out.action = out.action === 'run' ? 'version' : out.action;
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const exact = LONG_OPTIONS.find((o) => o.name === name);
      const matches = exact ? [exact] : LONG_OPTIONS.filter((o) => o.name.startsWith(name));
      if (matches.length === 0) throw new UsageError(`unrecognized option '${a}'`);
      if (matches.length > 1) throw new UsageError(`option '${a}' is ambiguous`);
      const o = matches[0]!;
      if (o.arg) {
        let v: string | undefined;
        if (eq >= 0) v = a.slice(eq + 1);
        else if (i + 1 < argv.length) v = argv[++i];
        else throw new UsageError(`option '--${o.name}' requires an argument`);
        apply(o.key, v);
      } else {
        if (eq >= 0) throw new UsageError(`option '--${o.name}' doesn't allow an argument`);
        apply(o.key, undefined);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const ch = a[k]!;
        if (SHORT_WITH_ARG.has(ch)) {
          let v: string;
          if (k + 1 < a.length) v = a.slice(k + 1);
          else if (i + 1 < argv.length) v = argv[++i]!;
          else throw new UsageError(`option requires an argument -- '${ch}'`);
          apply(ch, v);
          break;
        }
        if (SHORT_FLAGS.has(ch)) apply(ch, undefined);
        else throw new UsageError(`invalid option -- '${ch}'`);
      }
      continue;
    }
    break;
  }
  out.command = argv.slice(i);
  return out;
}

function jsonTypeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
    case 'number':
      return 'number';
    default:
      return 'object';
  }
}

async function defaultLockHolder(path: string): Promise<number | null> {
  const m = await import('./fcntl.ts');
  return m.lockHolder(path);
}

/** Run ovs-appctl with `argv` (without the program name). Resolves to the exit status. */
export async function runAppctl(argv: string[], ioIn: Partial<AppctlIo> = {}): Promise<number> {
  const io: AppctlIo = {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    programName: 'ovs-appctl',
    rundirEnv: 'OVS_RUNDIR',
    defaultRundir: '/var/run/openvswitch',
    ...ioIn,
  };
  const prog = io.programName;
  let seq = 0;
  // Console log lines, as vlog prints them: %D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c|%p|%m
  const vlog = (module: string, level: RpcLogLevel, msg: string): void => {
    // Only what ovs-appctl shows on its console: WARN and above; it has no reconnect layer to log.
    if (level === 'DBG' || level === 'INFO' || module === 'reconnect') return;
    const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    io.stderr(`${ts}|${String(++seq).padStart(5, '0')}|${module}|${level}|${msg}\n`);
  };
  const fatal = (msg: string): number => {
    io.stderr(`${prog}: ${msg}\n`);
    return 1;
  };

  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return fatal(e.message);
    throw e;
  }
  if (args.action === 'help') {
    io.stdout(helpText(prog));
    return 0;
  }
  if (args.action === 'version') {
    io.stdout(versionText(prog));
    return 0;
  }
  if (args.command.length === 0) return fatal('at least one non-option argument is required (use --help for help)');

  const work = transact(args, io, vlog, fatal);
  if (args.timeout <= 0) return work.promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      vlog('fatal_signal', 'WARN', 'terminating with signal 14 (Alarm clock)');
      work.cancel();
      resolve(APPCTL_TIMEOUT_STATUS);
    }, args.timeout * 1000);
  });
  try {
    return await Promise.race([work.promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function transact(
  args: ParsedArgs,
  io: AppctlIo,
  vlog: (module: string, level: RpcLogLevel, msg: string) => void,
  fatal: (msg: string) => number,
): { promise: Promise<number>; cancel: () => void } {
  let socket: net.Socket | null = null;
  let cancelled = false;
  const cancel = (): void => {
    cancelled = true;
    socket?.destroy();
  };
  const promise = (async (): Promise<number> => {
    const target = args.target;
    let path: string;
    if (target.startsWith('/')) path = target;
    else {
      const rundir = io.env[io.rundirEnv] || io.defaultRundir;
      const pidfile = `${rundir}/${target}.pid`;
      const pid = await readPidfile(pidfile, io, vlog);
      if (typeof pid === 'string') return fatal(`cannot read pidfile "${pidfile}" (${pid})`);
      path = `${rundir}/${target}.${pid}.ctl`;
    }
    if (cancelled) return APPCTL_TIMEOUT_STATUS;

    try {
      socket = await new Promise<net.Socket>((resolve, reject) => {
        const short = shortUnixPath(path);
        const s = net.connect({ path: short.path });
        short.release();
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    } catch (e) {
      vlog('unixctl', 'WARN', `failed to connect to ${path}`);
      return fatal(`cannot connect to "${path}" (${errText(e)})`);
    }
    if (cancelled) {
      socket.destroy();
      return APPCTL_TIMEOUT_STATUS;
    }

    const name = `unix:${path}`;
    const conn = new JsonRpcConnection(socket, { name, log: vlog, transportEcho: false });
    const [method, ...params] = args.command;
    return new Promise<number>((resolve) => {
      let done = false;
      const finish = (code: number): void => {
        if (done) return;
        done = true;
        conn.abort('closed');
        resolve(code);
      };
      conn.on('message', (m) => {
        if ((m.type !== 'reply' && m.type !== 'error') || m.id !== 0) return; // not our reply: ignored
        if (m.type === 'reply') {
          if (typeof m.result !== 'string') {
            vlog('unixctl', 'WARN', `${name}: unexpected result type in JSON rpc reply: ${jsonTypeName(m.result)}`);
            return finish(fatal(`${target}: transaction error (Invalid argument)`));
          }
          io.stdout(m.result);
          return finish(0);
        }
        if (typeof m.error !== 'string') {
          vlog('unixctl', 'WARN', `${name}: unexpected error type in JSON RPC reply: ${jsonTypeName(m.error)}`);
          return finish(fatal(`${target}: transaction error (Invalid argument)`));
        }
        io.stderr(m.error);
        io.stderr(`${io.programName}: ${target}: server returned an error\n`);
        finish(2);
      });
      conn.on('close', (reason) => {
        if (done) return;
        if (cancelled) return finish(APPCTL_TIMEOUT_STATUS);
        const why = reason === 'EOF' ? 'End of file' : reason;
        vlog('unixctl', 'WARN', `error communicating with ${name}: ${why}`);
        finish(fatal(`${target}: transaction error (${why})`));
      });
      conn.request(method!, params, 0);
    });
  })();
  return { promise, cancel };
}

// The pid in `pidfile`, checked against the fcntl lock holder (a pidfile nobody locks is stale), or the
// strerror text of the failure.
async function readPidfile(
  pidfile: string,
  io: AppctlIo,
  vlog: (module: string, level: RpcLogLevel, msg: string) => void,
): Promise<number | string> {
  let text: string;
  try {
    text = fs.readFileSync(pidfile, 'utf8');
  } catch (e) {
    vlog('daemon_unix', 'WARN', `${pidfile}: open: ${errText(e)}`);
    return errText(e);
  }
  let holder: number | null;
  try {
    holder = await (io.lockHolder ?? defaultLockHolder)(pidfile);
  } catch (e) {
    return errText(e);
  }
  const pid = /^[0-9]+\n?$/.test(text) ? Number(text.trim()) : NaN;
  if (holder === null || !(pid > 0) || holder !== pid) return STRERROR['ESRCH']!;
  return pid;
}
