// The `ovsdb-server` command line: getopt.ts scans it the way GNU getopt_long
// does (abbreviations, exact error texts, processing order), and the scanned
// options, in order, become the typed ServerOptions here.

import path from 'node:path';
import { setVlogLevels, setLogFile, configureSyslog, defaultLogFile } from './vlog.ts';
import { defaultRundir, resolvePidfilePath } from './pidfile.ts';
import { PROGRAM, defaultDatabase, scanServerArgs, type ExitResult, type Scanned } from './getopt.ts';

export { PROGRAM, VERSION_OUTPUT, VERSION_TEXT, defaultDatabase, usageText } from './getopt.ts';

export type StorageKind = 'file' | 'lmdb';

export interface SslOptions {
  privateKey: string | null;
  certificate: string | null;
  caCert: string | null;
  bootstrapCaCert: string | null;
  peerCaCert: string | null;
  sslProtocols: string | null;
  sslCiphers: string | null;
}

/** A logging step, kept in command-line order (`-vconsole:off --log-file` differs from the reverse). */
export type LoggingStep = { kind: 'verbose'; spec: string } | { kind: 'log-file'; file: string };

export interface ServerOptions {
  /** DATABASE arguments (file paths or relay: specs); the default DB when none and no --no-dbs. */
  databases: string[];
  /** --remote values in order, duplicates kept (the server collapses them into a set). */
  remotes: string[];
  run: string | null;
  /** --unixctl as given (see resolveUnixctlPath). */
  unixctl: string | null;
  syncFrom: string | null;
  syncExcludeTables: string | null;
  active: boolean;
  noDbs: boolean;
  disableFileColumnDiff: boolean;
  /** Absolute pidfile path, or null without --pidfile. */
  pidfile: string | null;
  overwritePidfile: boolean;
  detach: boolean;
  monitor: boolean;
  noChdir: boolean;
  user: string | null;
  noSelfConfinement: boolean;
  /** The log file (default `$OVS_LOGDIR/ovsdb-server.log` for a bare --log-file), or null. */
  logFile: string | null;
  /** -v / --verbose specs in order; '' for a bare -v. Already validated. */
  verbose: string[];
  /** -v and --log-file interleaved in command-line order, for applyLoggingOptions(). */
  logging: LoggingStep[];
  syslogMethod: string | null;
  syslogTarget: string | null;
  ssl: SslOptions;
  /** --record[=DIR] / --replay[=DIR]: null if absent, '' for no DIR. */
  record: string | null;
  replay: string | null;
  storage: StorageKind;
}

export type ParseResult =
  | { kind: 'options'; options: ServerOptions }
  /** Print `stdout`/`stderr` and exit with `code` (help, version, errors). */
  | ExitResult;

/**
 * The unixctl socket path: default `$OVS_RUNDIR/ovsdb-server.<pid>.ctl` (pid
 * after daemonizing), `none` → null, relative → against the run directory.
 */
export function resolveUnixctlPath(
  opt: string | null,
  pid: number = process.pid,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const rundir = path.resolve(defaultRundir(env));
  if (opt === null) return path.join(rundir, `${PROGRAM}.${pid}.ctl`);
  if (opt === 'none') return null;
  return path.resolve(rundir, opt);
}

/** Parse `ovsdb-server` arguments (process.argv.slice(2)). */
export function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  const scanned = scanServerArgs(argv, env);
  if (scanned.kind === 'exit') return scanned;
  return { kind: 'options', options: build(scanned.options, scanned.positionals, env) };
}

// Every option as scanned, in command-line order; repeated options keep all their values (the last one wins
// where the reference keeps one). A bare optional-argument option (`--pidfile`, `-v`) has the value ''.
function build(scanned: Scanned[], positionals: string[], env: NodeJS.ProcessEnv): ServerOptions {
  const all = (name: string): string[] => {
    const out: string[] = [];
    for (const o of scanned) if (o.name === name) out.push(o.value ?? '');
    return out;
  };
  const last = (name: string): string | null => {
    for (let k = scanned.length - 1; k >= 0; k--) if (scanned[k]!.name === name) return scanned[k]!.value ?? '';
    return null;
  };
  const flag = (name: string): boolean => scanned.some((o) => o.name === name);

  const logging: LoggingStep[] = [];
  for (const o of scanned) {
    if (o.name === 'verbose') logging.push({ kind: 'verbose', spec: o.value ?? '' });
    if (o.name === 'log-file') logging.push({ kind: 'log-file', file: o.value || defaultLogFile(env) });
  }
  const logFiles = logging.filter((s): s is { kind: 'log-file'; file: string } => s.kind === 'log-file');

  const pidfileArg = last('pidfile');
  const dbs = positionals;
  const noDbs = flag('no-dbs');
  const storage = (last('storage') ?? 'file') as StorageKind;

  return {
    databases: dbs.length === 0 && !noDbs ? [defaultDatabase(env)] : dbs,
    remotes: all('remote'),
    run: last('run'),
    unixctl: last('unixctl'),
    syncFrom: last('sync-from'),
    syncExcludeTables: last('sync-exclude-tables'),
    active: flag('active'),
    noDbs,
    disableFileColumnDiff: flag('disable-file-column-diff'),
    pidfile: pidfileArg === null ? null : resolvePidfilePath(pidfileArg, env),
    overwritePidfile: flag('overwrite-pidfile'),
    detach: flag('detach'),
    monitor: flag('monitor'),
    noChdir: flag('no-chdir'),
    user: last('user'),
    noSelfConfinement: flag('no-self-confinement'),
    logFile: logFiles.length ? logFiles[logFiles.length - 1]!.file : null,
    verbose: all('verbose'),
    logging,
    syslogMethod: last('syslog-method'),
    syslogTarget: last('syslog-target'),
    ssl: {
      privateKey: last('private-key'),
      certificate: last('certificate'),
      caCert: last('ca-cert'),
      bootstrapCaCert: last('bootstrap-ca-cert'),
      peerCaCert: last('peer-ca-cert'),
      sslProtocols: last('ssl-protocols'),
      sslCiphers: last('ssl-ciphers'),
    },
    record: last('record'),
    replay: last('replay'),
    storage,
  };
}

/**
 * Apply -v / --log-file / --syslog-* in command-line order, as the real server
 * does while parsing.  Returns null, or the log-file error (already logged as
 * `vlog|WARN|failed to open ... for logging: ...`); the real server then exits
 * with status 1 without printing anything else.
 */
export function applyLoggingOptions(opts: ServerOptions): string | null {
  configureSyslog(opts.syslogMethod ?? undefined, opts.syslogTarget ?? undefined);
  for (const step of opts.logging) {
    if (step.kind === 'verbose') {
      setVlogLevels(step.spec);
    } else {
      const err = setLogFile(step.file);
      if (err !== null) return err;
    }
  }
  return null;
}
