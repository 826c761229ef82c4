// `ovsdb-ts tool COMMAND [ARG...]`: the ovsdb-tool commands ovn-ctl and ovs-lib use, with ovsdb-tool's
// output and exit codes, on standard OVSDB files and on LMDB environments (recognised from the file), plus
// `export` / `import` between the two engines. Errors: "<program>: <message>" on stderr, exit 1.
import fs from 'node:fs';
import { OvsdbError } from '../schema/error.ts';
import { parseJson, stringify, stringifySorted, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemasEqual, schemaToJson } from '../schema/schema.ts';
import { convertedDatabase } from '../server/convert.ts';
import { execute } from '../storage/execution.ts';
import type { Database } from '../storage/database.ts';
import { FileStorage, snapshotRecord } from '../storage/file.ts';
import { LmdbStorage } from '../storage/lmdb.ts';
import { LockfileError } from '../storage/lockfile.ts';
import { RecordLog, type CorruptionPolicy } from '../storage/log.ts';
import { engineOf, openWritable, readDb, readDbSchema, readSchemaFile, writeNewDb, type Engine } from './tool-db.ts';
import { ShowLogRenderer } from './tool-show-log.ts';
import {
  checkCluster,
  clusteredDbName,
  clusteredRefusal,
  clusterToStandalone,
  createCluster,
  dbCid,
  dbLocalAddress,
  dbSid,
  fileMagic,
  joinCluster,
  makeToolLog,
  parseCid,
  parseElectionTimer,
  showLogCluster,
  ToolFatal,
  type ClusterToolIo,
  type ToolLog,
} from './tool-cluster.ts';
import { MAGIC_CLUSTERED, MAGIC_STANDALONE } from '../storage/log-header.ts';
import { versionText } from './version.ts';

export const DEFAULT_DB = '/etc/openvswitch/conf.db';
export const DEFAULT_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface ToolIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Program name in error messages (default "ovsdb-tool", so scripts see familiar texts). */
  program?: string;
}

const processIo: ToolIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

class Usage extends Error {}

interface ToolOptions {
  more: number;
  storage: Engine;
  policy: CorruptionPolicy;
  /** --cid (join-cluster). */
  cid?: string;
  /** --election-timer (create-cluster). */
  electionTimer?: number;
  log: ToolLog;
}

const HELP = `%P: Open vSwitch database management utility (ovsdb-ts)
usage: %P [OPTIONS] COMMAND [ARG...]
  create [DB [SCHEMA]]    create DB with the given SCHEMA (--storage=lmdb: an LMDB environment)
  [--election-timer=ms] create-cluster DB CONTENTS LOCAL
    create clustered DB with given CONTENTS and LOCAL address
  [--cid=UUID] join-cluster DB NAME LOCAL REMOTE...
    join clustered DB with given NAME and LOCAL and REMOTE addrs
  compact [DB [DST]]      compact DB in-place (or to DST)
  convert [DB [SCHEMA [DST]]]   convert DB to SCHEMA (to DST)
  needs-conversion [DB [SCHEMA]]  print "yes" if DB's schema differs from SCHEMA, else "no"
  db-name [DB]            report name of schema used by DB
  db-version [DB]         report version of schema used by DB
  db-cksum [DB]           report checksum of schema used by DB
  db-cid DB               report cluster ID of clustered DB
  db-sid DB               report server ID of clustered DB
  db-local-address DB     report local address of clustered DB
  db-is-clustered DB      test whether DB is clustered
  db-is-standalone DB     test whether DB is standalone
  schema-name [SCHEMA]    report SCHEMA's name
  schema-version [SCHEMA] report SCHEMA's schema version
  schema-cksum [SCHEMA]   report SCHEMA's checksum
  compare-versions A OP B  compare OVSDB schema version numbers
  query [DB] TRNS         execute read-only transaction on DB
  transact [DB] TRNS      execute read/write transaction on DB
  cluster-to-standalone DB DB    Convert clustered DB to
      standalone DB when cluster is down and cannot be
        revived
  [-m]... show-log [DB]   print DB's log entries
  check-cluster DB...     check the Raft invariants of clustered DBs
  export DB DST           write DB (either engine) as a standard OVSDB file DST
  import DB DST           write DB (either engine) as an LMDB environment DST
The default DB is ${DEFAULT_DB}.
The default SCHEMA is ${DEFAULT_SCHEMA}.
DB may be a standard OVSDB file or an LMDB environment file; the engine is recognised from its contents.

Other options:
  -m, --more                  increase show-log verbosity
  --storage=file|lmdb         engine for create (default: file)
  --recover                   read past mid-file corruption as ovsdb-server 3.1 does (drops the rest)
  -h, --help                  display this help message
  -V, --version               display version information
`;

function parseArgs(argv: readonly string[], log: ToolLog): { opts: ToolOptions; args: string[] } | { exit: 'help' | 'version' } {
  const opts: ToolOptions = { more: 0, storage: 'file', policy: 'strict', log };
  const args: string[] = [];
  let noMore = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (noMore || !a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    // Options with a required argument, as "--opt=VALUE" or "--opt VALUE" (getopt_long).
    const withArg = /^--(cid|election-timer)(?:=(.*))?$/.exec(a);
    if (withArg) {
      let value = withArg[2];
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new Usage(`option '--${withArg[1]}' requires an argument`);
        value = argv[++i]!;
      }
      if (withArg[1] === 'cid') opts.cid = parseCid(value);
      else opts.electionTimer = parseElectionTimer(value);
      continue;
    }
    if (a === '--') noMore = true;
    else if (a === '-h' || a === '--help') return { exit: 'help' };
    else if (a === '-V' || a === '--version') return { exit: 'version' };
    else if (/^-m+$/.test(a)) opts.more += a.length - 1;
    else if (a === '--more') opts.more++;
    else if (a === '--recover') opts.policy = 'reference';
    else if (a.startsWith('--storage=')) {
      const v = a.slice('--storage='.length);
      if (v !== 'file' && v !== 'lmdb') throw new Usage(`--storage: unknown storage type "${v}" (use file or lmdb)`);
      opts.storage = v;
    } else if (a.startsWith('--rbac-role=') || /^-v|^--verbose|^--log-file/.test(a)) {
      // accepted for compatibility; logging goes to stderr
    } else if (a.startsWith('--')) throw new Usage(`unrecognized option '${a}'`);
    else throw new Usage(`invalid option -- '${a.slice(1, 2)}'`);
  }
  return { opts, args };
}

type Command = (args: string[], opts: ToolOptions, io: ToolIo) => number;

function arity(name: string, args: string[], min: number, max: number): void {
  if (args.length < min) throw new Usage(`'${name}' command requires at least ${min} arguments`);
  if (args.length > max) throw new Usage(`'${name}' command takes at most ${max} arguments`);
}

function line(io: ToolIo, s: string): number {
  io.stdout(`${s}\n`);
  return 0;
}

/** ovsdb-tool's query/transact: TRNS is ["DB", op...]; errors in its shape print one error object. */
function runTransaction(path: string, trns: string, write: boolean, io: ToolIo, policy: CorruptionPolicy): number {
  const json = parseJsonArg(trns);
  const err = (details: string) =>
    io.stdout(stringifySorted({ details, error: 'syntax error', syntax: stringify(json) }) + '\n');
  if (!Array.isArray(json)) return err('array expected'), 0;
  const target = write ? openWritable(path, policy) : null;
  try {
    const db = target ? target.db : readDb(path, 'reference');
    if (json.length === 0 || json[0] !== db.name) return err('database name expected as first parameter'), 0;
    const out = execute(db, json.slice(1));
    if (out.kind === 'blocked') {
      io.stdout(stringifySorted([{ details: 'triggers not supported', error: 'not supported' }]) + '\n');
      return 0;
    }
    const result: JsonValue[] = out.result;
    if (out.commit) {
      if (target) {
        try {
          target.write(out.commit);
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          result.push(e.toJson());
        }
      } else {
        // ovsdb-tool opens the file read-only, so committing fails this way.
        const size = engineOf(path) === 'file' ? fs.statSync(path).size : 0;
        result.push(
          new OvsdbError('I/O error', engineOf(path) === 'file' ? `${path}: cannot truncate to length ${size}` : `${path}: read-only query`, {
            ioError: 'Invalid argument',
          }).toJson(),
        );
      }
    }
    io.stdout(stringifySorted(result) + '\n');
    return 0;
  } finally {
    target?.close();
  }
}

function parseJsonArg(text: string): JsonValue {
  try {
    return parseJson(text, true);
  } catch (e) {
    throw new OvsdbError('syntax error', `"${text}": ${(e as Error).message}`);
  }
}

function showLog(path: string, opts: ToolOptions, io: ToolIo): number {
  if (engineOf(path) === 'file' && fileMagic(path) === MAGIC_CLUSTERED) {
    return showLogCluster(path, opts.more, { ...clusterIo(io, opts), program: io.program ?? 'ovsdb-tool' });
  }
  if (engineOf(path) === 'lmdb') {
    const db = LmdbStorage.read(path);
    const r = new ShowLogRenderer(db.schema, opts.more);
    io.stdout(r.schemaRecord());
    // LMDB keeps no log: show the current contents as one record, as a compacted file would hold them.
    const rec = JSON.parse(stringify(snapshotOf(db))) as Record<string, JsonValue>;
    rec._date = Math.trunc(fs.statSync(path).mtimeMs);
    io.stdout(r.record(1, rec as never));
    return 0;
  }
  const log = RecordLog.open(path, { parseJson: (t) => parseJson(t, true), policy: 'reference' });
  let renderer: ShowLogRenderer | null = null;
  let n = 0;
  try {
    for (const rec of log.records()) {
      if (renderer === null) {
        renderer = new ShowLogRenderer(parseSchema(rec.json), opts.more);
        io.stdout(renderer.schemaRecord());
      } else {
        io.stdout(renderer.record(n, rec.json));
      }
      n++;
    }
  } finally {
    log.close();
  }
  if (log.recovery) {
    io.stderr(`${io.program ?? 'ovsdb-tool'}: ${log.recovery.error.render()}\n`);
    return 1;
  }
  return 0;
}

function clusterIo(io: ToolIo, opts: ToolOptions): ClusterToolIo {
  return { stdout: (t) => io.stdout(t), stderr: (t) => io.stderr(t), log: opts.log };
}

/** ovsdb-tool's standalone-only commands refuse clustered files (before anything else touches them). */
function refuseClustered(path: string): void {
  if (engineOf(path) === 'file' && fs.existsSync(path) && fileMagicIfReadable(path) === MAGIC_CLUSTERED) throw clusteredRefusal(path);
}

function fileMagicIfReadable(path: string): string | null {
  try {
    return fileMagic(path);
  } catch {
    return null; // the command's own open reports it
  }
}

/** db-is-clustered / db-is-standalone: 0 when the file's magic is `magic`, 2 otherwise. */
function hasMagic(path: string, magic: string): number {
  if (engineOf(path) === 'lmdb') return magic === MAGIC_STANDALONE ? 0 : 2; // an LMDB environment is standalone
  return fileMagic(path) === magic ? 0 : 2;
}

function snapshotOf(db: Database) {
  return snapshotRecord(db, 'current contents (LMDB keeps no log)', false);
}

/** 0 if a OP b holds for x.y.z versions, 2 if not. */
function compareVersions(a: string, op: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m) throw new OvsdbError('syntax error', `${v}: schema version must be in the form X.Y.Z`);
    return Number(m[1]) * 1e12 + Number(m[2]) * 1e6 + Number(m[3]);
  };
  const x = parse(a);
  const y = parse(b);
  const ops: Record<string, boolean> = { '<': x < y, '<=': x <= y, '==': x === y, '>=': x >= y, '>': x > y, '!=': x !== y };
  if (!(op in ops)) throw new Usage(`${op}: bad comparison operator`);
  return ops[op] ? 0 : 2;
}

const COMMANDS: Record<string, Command> = {
  create: (args, opts) => {
    arity('create', args, 0, 2);
    const [db = DEFAULT_DB, schemaPath = DEFAULT_SCHEMA] = args;
    const schemaJson = schemaToJson(readSchemaFile(schemaPath));
    if (opts.storage === 'lmdb') LmdbStorage.create(db, schemaJson);
    else FileStorage.create(db, schemaJson);
    return 0;
  },
  'create-cluster': (args, opts, io) => {
    arity('create-cluster', args, 3, 3);
    return createCluster(args, { ...(opts.electionTimer ? { electionTimer: opts.electionTimer } : {}), policy: opts.policy }, clusterIo(io, opts));
  },
  'join-cluster': (args, opts, io) => {
    arity('join-cluster', args, 4, Number.POSITIVE_INFINITY);
    return joinCluster(args, opts.cid ? { cid: opts.cid } : {}, clusterIo(io, opts));
  },
  'db-cid': (args, opts, io) => (arity('db-cid', args, 1, 1), dbCid(args[0]!, clusterIo(io, opts))),
  'db-sid': (args, opts, io) => (arity('db-sid', args, 1, 1), dbSid(args[0]!, clusterIo(io, opts))),
  'db-local-address': (args, opts, io) => (arity('db-local-address', args, 1, 1), dbLocalAddress(args[0]!, clusterIo(io, opts))),
  'check-cluster': (args, opts, io) => (arity('check-cluster', args, 1, Number.POSITIVE_INFINITY), checkCluster(args, clusterIo(io, opts))),
  'cluster-to-standalone': (args, opts, io) => (arity('cluster-to-standalone', args, 2, 2), clusterToStandalone(args, clusterIo(io, opts))),
  compact: (args, opts) => {
    arity('compact', args, 0, 2);
    const [db = DEFAULT_DB, dst] = args;
    refuseClustered(db);
    const comment = 'compacted by ovsdb-ts tool';
    if (dst !== undefined) {
      writeNewDb(dst, engineOf(db), readDb(db, opts.policy), comment);
      return 0;
    }
    const w = openWritable(db, opts.policy);
    try {
      if (w.engine === 'file') w.replace(w.db, comment);
    } finally {
      w.close();
    }
    return 0;
  },
  convert: (args, opts) => {
    arity('convert', args, 0, 3);
    const [db = DEFAULT_DB, schemaPath = DEFAULT_SCHEMA, dst] = args;
    const schema = readSchemaFile(schemaPath);
    refuseClustered(db);
    const comment = 'converted by ovsdb-ts tool';
    if (dst !== undefined) {
      writeNewDb(dst, engineOf(db), convertedDatabase(readDb(db, opts.policy), schema), comment);
      return 0;
    }
    const w = openWritable(db, opts.policy);
    try {
      w.replace(convertedDatabase(w.db, schema), comment);
    } finally {
      w.close();
    }
    return 0;
  },
  'needs-conversion': (args, _o, io) => {
    arity('needs-conversion', args, 0, 2);
    const [db = DEFAULT_DB, schemaPath = DEFAULT_SCHEMA] = args;
    refuseClustered(db);
    const dbSchema = readDbSchema(db);
    return line(io, schemasEqual(dbSchema, readSchemaFile(schemaPath)) ? 'no' : 'yes');
  },
  'db-name': (args, opts, io) => {
    arity('db-name', args, 0, 1);
    const db = args[0] ?? DEFAULT_DB;
    if (engineOf(db) === 'file' && fileMagic(db) === MAGIC_CLUSTERED) return line(io, clusteredDbName(db, clusterIo(io, opts)));
    return line(io, readDbSchema(db).name);
  },
  'db-version': (args, _o, io) => (arity('db-version', args, 0, 1), refuseClustered(args[0] ?? DEFAULT_DB), line(io, readDbSchema(args[0] ?? DEFAULT_DB).version)),
  'db-cksum': (args, _o, io) => (arity('db-cksum', args, 0, 1), refuseClustered(args[0] ?? DEFAULT_DB), line(io, readDbSchema(args[0] ?? DEFAULT_DB).cksum)),
  'schema-name': (args, _o, io) => (arity('schema-name', args, 0, 1), line(io, readSchemaFile(args[0] ?? DEFAULT_SCHEMA).name)),
  'schema-version': (args, _o, io) => (arity('schema-version', args, 0, 1), line(io, readSchemaFile(args[0] ?? DEFAULT_SCHEMA).version)),
  'schema-cksum': (args, _o, io) => (arity('schema-cksum', args, 0, 1), line(io, readSchemaFile(args[0] ?? DEFAULT_SCHEMA).cksum)),
  'db-is-standalone': (args) => (arity('db-is-standalone', args, 1, 1), hasMagic(args[0]!, MAGIC_STANDALONE)),
  'db-is-clustered': (args) => (arity('db-is-clustered', args, 1, 1), hasMagic(args[0]!, MAGIC_CLUSTERED)),
  'compare-versions': (args) => {
    arity('compare-versions', args, 3, 3);
    return compareVersions(args[0], args[1], args[2]);
  },
  query: (args, opts, io) => {
    arity('query', args, 1, 2);
    const [db, trns] = args.length === 2 ? args : [DEFAULT_DB, args[0]];
    refuseClustered(db);
    return runTransaction(db, trns, false, io, opts.policy);
  },
  transact: (args, opts, io) => {
    arity('transact', args, 1, 2);
    const [db, trns] = args.length === 2 ? args : [DEFAULT_DB, args[0]];
    refuseClustered(db);
    return runTransaction(db, trns, true, io, opts.policy);
  },
  'show-log': (args, opts, io) => {
    arity('show-log', args, 0, 1);
    return showLog(args[0] ?? DEFAULT_DB, opts, io);
  },
  export: (args, opts) => {
    arity('export', args, 2, 2);
    writeNewDb(args[1], 'file', readDb(args[0], opts.policy), `exported by ovsdb-ts tool from ${engineOf(args[0])} storage`);
    return 0;
  },
  import: (args, opts) => {
    arity('import', args, 2, 2);
    writeNewDb(args[1], 'lmdb', readDb(args[0], opts.policy), 'imported by ovsdb-ts tool');
    return 0;
  },
};

/** Runs one tool command; resolves to the exit status (0 ok, 1 error, 2 "no" for db-is-* and compare-versions). */
export async function runTool(argv: readonly string[], io: ToolIo = processIo): Promise<number> {
  const program = io.program ?? 'ovsdb-tool';
  try {
    const parsed = parseArgs(argv, makeToolLog((t) => io.stderr(t)));
    if ('exit' in parsed) {
      io.stdout(parsed.exit === 'help' ? HELP.replaceAll('%P', program) : versionText(program));
      return 0;
    }
    const [cmd, ...rest] = parsed.args;
    if (cmd === undefined) throw new Usage('missing command name; use --help for help');
    const fn = COMMANDS[cmd];
    if (fn === undefined) throw new Usage(`unknown command '${cmd}'; use --help for help`);
    return fn(rest, parsed.opts, io);
  } catch (e) {
    if (e instanceof OvsdbError) io.stderr(`${program}: ${e.render()}\n`);
    else if (e instanceof Usage || e instanceof LockfileError || e instanceof ToolFatal) io.stderr(`${program}: ${e.message}\n`);
    else throw e;
    return 1;
  }
}
