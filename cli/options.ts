// The `ovsdb-server` command line, parsed the way GNU getopt_long does it:
// options and positionals may be mixed (permutation), long options may be
// abbreviated to a unique prefix, `--opt=value` or `--opt value` for required
// arguments, `--opt[=value]` only for optional ones, short options may be
// grouped (`-hV`) and take attached or next-word arguments (`-pKEY`, `-p KEY`),
// `-v[SPEC]` takes only an attached argument, `--` ends the options.
//
// A getopt scanner does the GNU part (abbreviations, exact error texts,
// processing order); yargs then turns the normalized argument list into the
// typed ServerOptions.

import path from 'node:path';
import yargs from 'yargs';
import { parseVlogSpec, defaultLogFile, setVlogLevels, setLogFile, configureSyslog } from './vlog.ts';
import { defaultRundir, resolvePidfilePath } from './pidfile.ts';

export const PROGRAM = 'ovsdb-server';
export const VERSION_TEXT = 'ovsdb-server (Open vSwitch) 3.1.0';

type ArgKind = 'none' | 'required' | 'optional';

interface OptionDef {
  name: string;
  arg: ArgKind;
  short?: string;
}

// Table order matters: getopt lists ambiguous candidates in this order.
const OPTIONS: OptionDef[] = [
  { name: 'remote', arg: 'required' },
  { name: 'unixctl', arg: 'required' },
  { name: 'run', arg: 'required' },
  { name: 'help', arg: 'none', short: 'h' },
  { name: 'version', arg: 'none', short: 'V' },
  { name: 'detach', arg: 'none' },
  { name: 'no-self-confinement', arg: 'none' },
  { name: 'no-chdir', arg: 'none' },
  { name: 'pidfile', arg: 'optional' },
  { name: 'overwrite-pidfile', arg: 'none' },
  { name: 'monitor', arg: 'none' },
  { name: 'user', arg: 'required' },
  { name: 'disable-file-column-diff', arg: 'none' },
  { name: 'verbose', arg: 'optional', short: 'v' },
  { name: 'log-file', arg: 'optional' },
  { name: 'syslog-method', arg: 'required' },
  { name: 'syslog-target', arg: 'required' },
  { name: 'peer-ca-cert', arg: 'required' },
  { name: 'private-key', arg: 'required', short: 'p' },
  { name: 'certificate', arg: 'required', short: 'c' },
  { name: 'ca-cert', arg: 'required', short: 'C' },
  { name: 'ssl-protocols', arg: 'required' },
  { name: 'ssl-ciphers', arg: 'required' },
  { name: 'bootstrap-ca-cert', arg: 'required' },
  { name: 'record', arg: 'optional' },
  { name: 'replay', arg: 'optional' },
  { name: 'sync-from', arg: 'required' },
  { name: 'sync-exclude-tables', arg: 'required' },
  { name: 'active', arg: 'none' },
  { name: 'no-dbs', arg: 'none' },
  // ovsdb-ts extension.
  { name: 'storage', arg: 'required' },
];

const BY_NAME = new Map(OPTIONS.map((o) => [o.name, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));

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
  | { kind: 'exit'; code: number; stdout: string; stderr: string };

/** The default database: `$OVS_DBDIR/conf.db`, `$OVS_SYSCONFDIR/openvswitch/conf.db`, or /etc/openvswitch/conf.db. */
export function defaultDatabase(env: NodeJS.ProcessEnv = process.env): string {
  if (env['OVS_DBDIR']) return `${env['OVS_DBDIR']}/conf.db`;
  return `${env['OVS_SYSCONFDIR'] || '/etc'}/openvswitch/conf.db`;
}

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

/** The `--help` text. */
export function usageText(env: NodeJS.ProcessEnv = process.env): string {
  const rundir = defaultRundir(env);
  return `${PROGRAM}: Open vSwitch database server (ovsdb-ts)
usage: ${PROGRAM} [OPTIONS] [DATABASE...]
where each DATABASE is an OVSDB database file or relay:DB:REMOTE[,REMOTE...].
Without DATABASE arguments (and without --no-dbs) the database is
${defaultDatabase(env)}.

JSON-RPC options (may be specified any number of times):
  --remote=REMOTE         listen on or connect to REMOTE

Active JSON-RPC connection methods:
  tcp:HOST:PORT           connect to TCP PORT on HOST
  ssl:HOST:PORT           connect with SSL to PORT on HOST
  unix:FILE               connect to Unix domain socket FILE
Passive JSON-RPC connection methods:
  ptcp:PORT[:IP]          listen on TCP PORT at IP
  pssl:PORT[:IP]          listen for SSL on PORT at IP
  punix:FILE              listen on Unix domain socket FILE
PKI configuration (required to use SSL):
  -p, --private-key=FILE  private key file
  -c, --certificate=FILE  certificate file for the private key
  -C, --ca-cert=FILE      CA certificate file for verifying peers
  --bootstrap-ca-cert=FILE  CA certificate file to read or to create on first contact
  --peer-ca-cert=FILE     extra CA certificate to send to peers
SSL options:
  --ssl-protocols=PROTOS  SSL protocols to enable
  --ssl-ciphers=CIPHERS   SSL ciphers to enable

Daemon options:
  --detach                run in the background as a daemon
  --monitor               restart the daemon if it crashes
  --user=username[:group] run as this user:group
  --no-chdir              do not chdir to '/' after --detach
  --no-self-confinement   do not restrict file access to the default directories
  --pidfile[=FILE]        write a pidfile (default: ${rundir}/${PROGRAM}.pid)
  --overwrite-pidfile     with --pidfile, start even if another instance runs

Logging options:
  -vSPEC, --verbose=SPEC   set logging levels
  -v, --verbose            log everything (debug level)
  --log-file[=FILE]        log to FILE
                           (default: ${defaultLogFile(env)})
  --syslog-method=(libc|unix:file|udp:ip:port)
                           how to send messages to syslog
  --syslog-target=HOST:PORT  also send syslog messages to HOST:PORT over UDP

Syncing options:
  --sync-from=SERVER      replicate the databases from the active SERVER,
                          starting as a backup (unless --active is given)
  --sync-exclude-tables=DB:TABLE,...
                          do not replicate TABLE of DB
  --active                with --sync-from, start as the active server

Replay options:
  --record[=DIR]            write replay files
  --replay[=DIR]            run from replay files

Other options:
  --run COMMAND           run COMMAND in a subprocess, exit when it exits
  --unixctl=SOCKET        control socket name (default: ${rundir}/${PROGRAM}.<pid>.ctl)
  --disable-file-column-diff
                          write whole column values, not diffs, to database files
  --no-dbs                start without any database except _Server
  --storage=file|lmdb     storage engine for database files (default: file)
  -h, --help              print this help and exit
  -V, --version           print the version and exit
`;
}

// ---------------------------------------------------------------------------
// getopt_long scanner

type Scanned = { name: string; value: string | null };

class GetoptError extends Error {}

function matchLong(name: string, whole: string): OptionDef {
  const exact = BY_NAME.get(name);
  if (exact) return exact;
  const candidates = OPTIONS.filter((o) => o.name.startsWith(name));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw new GetoptError(`unrecognized option '${whole}'`);
  throw new GetoptError(
    `option '${whole}' is ambiguous; possibilities:` + candidates.map((c) => ` '--${c.name}'`).join(''),
  );
}

/**
 * Scan argv (without node and script) like getopt_long with permutation.
 * `onOption` sees every option in order and may stop the scan by returning
 * a ParseResult (help/version/-v errors happen in order like in C).
 */
function scan(
  argv: string[],
  onOption: (o: Scanned) => ParseResult | null,
): { options: Scanned[]; positionals: string[] } | ParseResult {
  const options: Scanned[] = [];
  const positionals: string[] = [];
  const take = (o: Scanned): ParseResult | null => {
    options.push(o);
    return onOption(o);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const def = matchLong(name, a);
      let value: string | null = eq >= 0 ? a.slice(eq + 1) : null;
      if (def.arg === 'none' && value !== null) {
        throw new GetoptError(`option '--${def.name}' doesn't allow an argument`);
      }
      if (def.arg === 'required' && value === null) {
        if (i + 1 >= argv.length) throw new GetoptError(`option '--${def.name}' requires an argument`);
        value = argv[++i]!;
      }
      const r = take({ name: def.name, value });
      if (r) return r;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const def = BY_SHORT.get(c);
        if (!def) throw new GetoptError(`invalid option -- '${c}'`);
        let value: string | null = null;
        const rest = a.slice(j + 1);
        if (def.arg === 'required') {
          if (rest !== '') value = rest;
          else if (i + 1 < argv.length) value = argv[++i]!;
          else throw new GetoptError(`option requires an argument -- '${c}'`);
          j = a.length;
        } else if (def.arg === 'optional') {
          value = rest !== '' ? rest : null;
          j = a.length;
        }
        const r = take({ name: def.name, value });
        if (r) return r;
      }
      continue;
    }
    positionals.push(a);
  }
  return { options, positionals };
}

function exitWith(code: number, stdout: string, stderr: string): ParseResult {
  return { kind: 'exit', code, stdout, stderr };
}

/** Parse `ovsdb-server` arguments (process.argv.slice(2)). */
export function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  let scanned: ReturnType<typeof scan>;
  try {
    scanned = scan(argv, (o) => {
      switch (o.name) {
        case 'help':
          return exitWith(0, usageText(env), '');
        case 'version':
          return exitWith(0, `${VERSION_TEXT}\n`, '');
        case 'verbose': {
          const spec = o.value ?? '';
          const p = parseVlogSpec(spec);
          if (typeof p === 'string') return exitWith(1, '', `${PROGRAM}: processing "${spec}": ${p}\n`);
          return null;
        }
        case 'storage':
          if (o.value !== 'file' && o.value !== 'lmdb') {
            return exitWith(1, '', `${PROGRAM}: --storage: unknown storage type "${o.value}" (use file or lmdb)\n`);
          }
          return null;
        default:
          return null;
      }
    });
  } catch (e) {
    if (e instanceof GetoptError) return exitWith(1, '', `${PROGRAM}: ${e.message}\n`);
    throw e;
  }
  if ('kind' in scanned) return scanned;
  return { kind: 'options', options: build(scanned.options, scanned.positionals, env) };
}

// yargs sees a normalized argument list: every option as `--name=value` (or
// `--name` for flags), then `--` and the positionals.
function build(scanned: Scanned[], positionals: string[], env: NodeJS.ProcessEnv): ServerOptions {
  const normalized = scanned.map((o) => (o.value === null ? `--${o.name}` : `--${o.name}=${o.value}`));
  // A bare optional-argument option (`--pidfile`, `-v`) must still show up as a string.
  for (let k = 0; k < scanned.length; k++) {
    const o = scanned[k]!;
    if (o.value === null && BY_NAME.get(o.name)!.arg === 'optional') normalized[k] = `--${o.name}=`;
  }
  normalized.push('--', ...positionals);

  const stringOpts = OPTIONS.filter((o) => o.arg !== 'none').map((o) => o.name);
  const boolOpts = OPTIONS.filter((o) => o.arg === 'none').map((o) => o.name);
  const parsed = yargs(normalized)
    .parserConfiguration({
      'camel-case-expansion': false,
      'boolean-negation': false, // --no-chdir is an option of its own, not "chdir=false"
      'dot-notation': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'short-option-groups': false,
      'duplicate-arguments-array': true,
      'flatten-duplicate-arrays': true,
      'greedy-arrays': false,
      'populate--': true,
      'strip-aliased': true,
    })
    .string(stringOpts)
    .boolean(boolOpts)
    .help(false)
    .version(false)
    .exitProcess(false)
    .strict(false)
    .parseSync() as Record<string, unknown>;

  const all = (name: string): string[] => {
    const v = parsed[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  };
  const last = (name: string): string | null => {
    const v = all(name);
    return v.length ? v[v.length - 1]! : null;
  };
  const flag = (name: string): boolean => {
    const v = parsed[name];
    return Array.isArray(v) ? v.some(Boolean) : v === true;
  };

  const logging: LoggingStep[] = [];
  for (const o of scanned) {
    if (o.name === 'verbose') logging.push({ kind: 'verbose', spec: o.value ?? '' });
    if (o.name === 'log-file') logging.push({ kind: 'log-file', file: o.value || defaultLogFile(env) });
  }
  const logFiles = logging.filter((s): s is { kind: 'log-file'; file: string } => s.kind === 'log-file');

  const pidfileArg = last('pidfile');
  const dbs = ((parsed['--'] as unknown[] | undefined) ?? []).map(String);
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
