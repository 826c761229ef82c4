// The LMDB engine: a database kept as rows in an LMDB environment instead of a log of records.
//
// Layout. The DB path names the LMDB data file itself (MDB_NOSUBDIR; LMDB adds "<path>-lock"). Two named
// sub-databases: "meta" (schema = the normalized schema JSON, format, last txn id and date) and "rows"
// (key "<table>/<uuid>", value = the row's persistent non-default columns as OVSDB JSON, the same object a
// compacted file record holds). Startup reads the rows directly: no log replay, and nothing to compact.
//
// Durability. The environment is opened with MDB_NOSYNC: every commit is one synchronous LMDB write
// transaction whose pages are written to the OS before write() returns (so a killed process loses no
// acknowledged commit, like the file engine's write + flush). A commit with durable:true is followed by an
// fdatasync of the data file before write() returns. As with the file engine, non-durable commits can be
// lost by a power failure; close() flushes everything.
//
// Locking: the same `.NAME.~lock~` fcntl lock as the file engine, so two servers (or a server and an
// offline `ovsdb-ts tool transact`) never write one environment at once.
import fs from 'node:fs';
import { open, type Database as LmdbDb, type RootDatabase } from 'lmdb';
import { datumToJson, isDefault } from '../schema/datum.ts';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, parseJson, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema } from '../schema/schema.ts';
import type { Commit } from './database.ts';
import { Database } from './database.ts';
import { applyRecord } from './file.ts';
import { readFileBytes } from './file-probe.ts';
import { strerror } from './log-error.ts';
import { Lockfile } from './lockfile.ts';

export const LMDB_FORMAT = 'ovsdb-ts-lmdb 1';
/** Offset and value (little endian) of the LMDB meta page magic, to recognise an environment file. */
const MDB_MAGIC_OFFSET = 24;
const MDB_MAGIC = 0xbeefc0de;

export interface LmdbStorageOptions {
  /** Take the `.NAME.~lock~` lock (default true). */
  lock?: boolean;
}

/** True if `path` is an LMDB data file (checks the meta page magic). */
export function isLmdbFile(path: string): boolean {
  return readFileBytes(path, MDB_MAGIC_OFFSET, 4)?.readUInt32LE(0) === MDB_MAGIC;
}

function ioFail(details: string, e: unknown): OvsdbError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const msg = code && typeof code === 'string' ? strerror(e) : (e as Error).message;
  return new OvsdbError('I/O error', details, { ioError: msg });
}

function rowKey(table: string, uuid: string): string {
  return `${table}/${uuid}`;
}

/** A row as stored: persistent columns whose value is not the default. */
function rowJson(table: import('../schema/schema.ts').TableSchema, data: readonly import('../schema/datum.ts').Datum[]): JsonObject {
  const o: JsonObject = {};
  for (const col of table.columns) {
    if (!col.persistent) continue;
    const v = data[col.index];
    if (!isDefault(col.type, v)) o[col.name] = datumToJson(col.type, v);
  }
  return o;
}

interface Env {
  root: RootDatabase;
  meta: LmdbDb<string, string>;
  rows: LmdbDb<string, string>;
}

function openEnv(path: string): Env {
  const root = open({ path, noSubdir: true, maxDbs: 4, noSync: true, overlappingSync: false, compression: false });
  const meta = root.openDB<string, string>({ name: 'meta', encoding: 'string' });
  const rows = root.openDB<string, string>({ name: 'rows', encoding: 'string' });
  return { root, meta, rows };
}

function closeEnv(env: Env): void {
  void env.root.close();
}

export class LmdbStorage {
  private syncFd: number;

  private constructor(
    readonly path: string,
    private readonly env: Env,
    private readonly lock: Lockfile | null,
  ) {
    this.syncFd = fs.openSync(path, 'r');
  }

  /** Creates an environment holding only the schema; fails if `path` exists (as ovsdb-tool create). */
  static create(path: string, schemaJson: JsonValue): void {
    const schema = parseSchema(schemaJson);
    try {
      fs.closeSync(fs.openSync(path, 'wx', 0o660));
      fs.unlinkSync(path); // LMDB creates the file itself; O_EXCL above only claims the name
    } catch (e) {
      throw ioFail(`${path}: create failed`, e);
    }
    const env = openEnv(path);
    try {
      env.meta.transactionSync(() => {
        env.meta.putSync('format', LMDB_FORMAT);
        env.meta.putSync('schema', stringify(schemaToJson(schema)));
      }, 2);
      const fd = fs.openSync(path, 'r');
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
    } finally {
      closeEnv(env);
    }
  }

  /** Opens an environment and loads its rows (with the commit checks, as for a compacted file). */
  static open(path: string, opts: LmdbStorageOptions = {}): { db: Database; storage: LmdbStorage; schema: DatabaseSchema } {
    checkIsLmdb(path);
    const lock = opts.lock === false ? null : Lockfile.lock(path);
    let env: Env | null = null;
    try {
      env = openEnv(path);
      const db = load(path, env);
      return { db, storage: new LmdbStorage(path, env, lock), schema: db.schema };
    } catch (e) {
      if (env) closeEnv(env);
      lock?.unlock();
      throw e;
    }
  }

  /** Reads an environment without locking it. */
  static read(path: string): Database {
    checkIsLmdb(path);
    const env = openEnv(path);
    try {
      return load(path, env);
    } finally {
      closeEnv(env);
    }
  }

  /** The schema only (db-name, db-version, db-cksum). */
  static readSchema(path: string): DatabaseSchema {
    checkIsLmdb(path);
    const env = openEnv(path);
    try {
      const text = env.meta.get('schema');
      if (text === undefined) throw new OvsdbError('ovsdb error', `${path}: LMDB environment has no OVSDB schema`);
      return parseSchema(parseJson(text, true));
    } finally {
      closeEnv(env);
    }
  }

  /** One LMDB write transaction per commit; fdatasync before returning when durable. */
  write(commit: Commit, txnId = ''): void {
    const { rows, meta } = this.env;
    try {
      rows.transactionSync(() => {
        for (const [tname, changes] of commit.tables) {
          for (const ch of changes.values()) {
            if (ch.new === null) {
              rows.removeSync(rowKey(tname, ch.uuid));
              continue;
            }
            if (ch.old !== null && !persistentChanged(ch.table, ch.old.data, ch.new.data)) continue;
            rows.putSync(rowKey(tname, ch.uuid), stringify(rowJson(ch.table, ch.new.data)));
          }
        }
        if (txnId) meta.putSync('txn', txnId);
      }, 2);
      if (commit.durable) fs.fdatasyncSync(this.syncFd);
    } catch (e) {
      throw ioFail(`${this.path}: LMDB commit failed`, e);
    }
  }

  /** Replaces schema and all rows in one LMDB transaction (conversion, replication snapshots). */
  writeSnapshot(db: Database, _comment = '', txnId = ''): void {
    const { rows, meta } = this.env;
    try {
      rows.transactionSync(() => {
        for (const key of [...rows.getKeys()]) rows.removeSync(key);
        meta.putSync('schema', stringify(schemaToJson(db.schema)));
        for (const [tname, table] of db.tables) {
          for (const row of table.rows.values()) rows.putSync(rowKey(tname, row.uuid), stringify(rowJson(table.schema, row.data)));
        }
        if (txnId) meta.putSync('txn', txnId);
      }, 2);
      fs.fdatasyncSync(this.syncFd);
    } catch (e) {
      throw ioFail(`${this.path}: LMDB commit failed`, e);
    }
  }

  /** LMDB reuses freed pages: nothing to compact. */
  compact(_db?: Database): void {}

  status(): string | null {
    return null;
  }

  /** Bytes of the data file. */
  size(): number {
    return fs.fstatSync(this.syncFd).size;
  }

  close(): void {
    try {
      fs.fdatasyncSync(this.syncFd);
    } catch {
      /* best effort on shutdown */
    }
    fs.closeSync(this.syncFd);
    closeEnv(this.env);
    this.lock?.unlock();
  }
}

function persistentChanged(table: import('../schema/schema.ts').TableSchema, a: readonly unknown[], b: readonly unknown[]): boolean {
  for (const col of table.columns) if (col.persistent && a[col.index] !== b[col.index]) return true;
  return false;
}

function checkIsLmdb(path: string): void {
  try {
    fs.accessSync(path, fs.constants.R_OK);
  } catch (e) {
    throw ioFail(`${path}: open failed`, e);
  }
  if (!isLmdbFile(path)) throw new OvsdbError('ovsdb error', `${path}: not an LMDB database (use --storage=file for the standard format)`);
}

function load(path: string, env: Env): Database {
  const schemaText = env.meta.get('schema');
  if (schemaText === undefined) throw new OvsdbError('ovsdb error', `${path}: LMDB environment has no OVSDB schema`);
  const db = new Database(parseSchema(parseJson(schemaText, true)));
  // All rows as one insert-only record: the compacted-file path, with its commit checks.
  const rec: JsonObject = {};
  for (const { key, value } of env.rows.getRange()) {
    const slash = key.indexOf('/');
    const tname = key.slice(0, slash);
    let t = rec[tname];
    if (!isJsonObject(t)) rec[tname] = t = {};
    t[key.slice(slash + 1)] = parseJson(value, true);
  }
  applyRecord(db, rec);
  return db;
}
