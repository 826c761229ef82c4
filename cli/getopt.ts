// The `ovsdb-server` command line as GNU getopt_long scans it: options and
// positionals may be mixed (permutation), long options may be abbreviated to a
// unique prefix, `--opt=value` or `--opt value` for required arguments,
// `--opt[=value]` only for optional ones, short options may be grouped (`-hV`)
// and take attached or next-word arguments (`-pKEY`, `-p KEY`), `-v[SPEC]`
// takes only an attached argument, `--` ends the options.
//
// The scan alone decides --help, --version and every option error, in command-
// line order like the C server.  It needs neither koffi nor the engine, so the
// entry point runs it before loading the server (options.ts then turns the
// scanned list into ServerOptions).

import { parseVlogSpec, defaultLogFile } from './vlog.ts';
import { defaultRundir } from './pidfile.ts';
import { OVS_VERSION, versionText } from './version.ts';

export const PROGRAM = 'ovsdb-server';
/** The reference's version line (also the startup log message). */
export const VERSION_TEXT = `ovsdb-server (Open vSwitch) ${OVS_VERSION}`;
/** What --version and `ovs-appctl version` print: the reference's line, then ovsdb-ts's. */
export const VERSION_OUTPUT = versionText(PROGRAM);

export type ArgKind = 'none' | 'required' | 'optional';

export interface OptionDef {
  name: string;
  arg: ArgKind;
  short?: string;
}

// Table order matters: getopt lists ambiguous candidates in this order.
export const OPTIONS: OptionDef[] = [
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

export const BY_NAME = new Map(OPTIONS.map((o) => [o.name, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]));

/** Print `stdout`/`stderr` and exit with `code` (help, version, errors). */
export type ExitResult = { kind: 'exit'; code: number; stdout: string; stderr: string };

/** The default database: `$OVS_DBDIR/conf.db`, `$OVS_SYSCONFDIR/openvswitch/conf.db`, or /etc/openvswitch/conf.db. */
export function defaultDatabase(env: NodeJS.ProcessEnv = process.env): string {
  if (env['OVS_DBDIR']) return `${env['OVS_DBDIR']}/conf.db`;
  return `${env['OVS_SYSCONFDIR'] || '/etc'}/openvswitch/conf.db`;
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

export type Scanned = { name: string; value: string | null };

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
 * an ExitResult (help/version/-v errors happen in order like in C).
 */
function scan(
  argv: string[],
  onOption: (o: Scanned) => ExitResult | null,
): { options: Scanned[]; positionals: string[] } | ExitResult {
  const options: Scanned[] = [];
  const positionals: string[] = [];
  const take = (o: Scanned): ExitResult | null => {
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

function exitWith(code: number, stdout: string, stderr: string): ExitResult {
  return { kind: 'exit', code, stdout, stderr };
}

/**
 * Scan `ovsdb-server` arguments (process.argv.slice(2)): the exit that --help,
 * --version or an option error asks for, else the options in order and the
 * positionals.
 */
export function scanServerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ExitResult | { kind: 'scanned'; options: Scanned[]; positionals: string[] } {
  let scanned: ReturnType<typeof scan>;
  try {
    scanned = scan(argv, (o) => {
      switch (o.name) {
        case 'help':
          return exitWith(0, usageText(env), '');
        case 'version':
          return exitWith(0, VERSION_OUTPUT, '');
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
  return { kind: 'scanned', options: scanned.options, positionals: scanned.positionals };
}
