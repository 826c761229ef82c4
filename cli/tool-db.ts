// Database access for `ovsdb-ts tool`: the engine is recognised from the file itself (an LMDB data file or
// a standard OVSDB file), so every command works on both. Writers take the `.NAME.~lock~` lock.
import fs from 'node:fs';
import { OvsdbError } from '../schema/error.ts';
import { parseJson, stringify, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema } from '../schema/schema.ts';
import type { Commit, Database } from '../storage/database.ts';
import { FileStorage, snapshotRecord } from '../storage/file.ts';
import { isLmdbFile, LmdbStorage } from '../storage/lmdb.ts';
import { RecordLog, type CorruptionPolicy } from '../storage/log.ts';
import { LogError } from '../storage/log-error.ts';

export type Engine = 'file' | 'lmdb';

export function engineOf(path: string): Engine {
  return isLmdbFile(path) ? 'lmdb' : 'file';
}

function asOvsdb(e: unknown): never {
  if (e instanceof LogError) throw new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
  throw e;
}

/** Reads a schema file (JSON text) as ovsdb-tool does. */
/** A schema file, read and parsed with the reference's error texts (ovsdb_schema_from_file). */
export function readSchemaFile(path: string): DatabaseSchema {
  const unreadable = (why: string) => new OvsdbError('failed to read schema', `"${path}" could not be read as JSON (${why})`);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw unreadable('error reading JSON stream: Is a directory');
    throw unreadable(`error opening "${path}": ${errnoText(e)}`);
  }
  let json: JsonValue;
  try {
    json = parseJson(text, true);
  } catch (e) {
    throw unreadable((e as Error).message);
  }
  try {
    return parseSchema(json);
  } catch (e) {
    if (!(e instanceof OvsdbError)) throw e;
    throw e.wrap(`failed to parse "${path}" as ovsdb schema`);
  }
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (e as Error).message;
}

/** The schema a database holds, without reading its rows (file) or all of them (LMDB). */
export function readDbSchema(path: string): DatabaseSchema {
  if (engineOf(path) === 'lmdb') return LmdbStorage.readSchema(path);
  try {
    const log = RecordLog.open(path, { parseJson: (t) => parseJson(t, true) });
    try {
      for (const rec of log.records()) return parseSchema(rec.json);
    } finally {
      log.close();
    }
  } catch (e) {
    asOvsdb(e);
  }
  throw new OvsdbError('I/O error', `${path}: database file has no schema record`);
}

/** The whole database, read-only. The file engine reads up to any damage with `policy` ('strict' refuses). */
export function readDb(path: string, policy: CorruptionPolicy = 'strict', onLog?: (level: string, msg: string) => void): Database {
  if (engineOf(path) === 'lmdb') return LmdbStorage.read(path);
  return FileStorage.read(path, { policy, ...(onLog ? { onLog } : {}) });
}

/** A locked, writable database of either engine. */
export interface WritableDb {
  readonly engine: Engine;
  readonly db: Database;
  write(commit: Commit): void;
  /** Replaces the contents with `db` (compaction, conversion) in one atomic step. */
  replace(db: Database, comment: string): void;
  close(): void;
}

export function openWritable(path: string, policy: CorruptionPolicy = 'strict'): WritableDb {
  if (engineOf(path) === 'lmdb') {
    const { db, storage } = LmdbStorage.open(path);
    return {
      engine: 'lmdb',
      db,
      write: (c) => storage.write(c),
      replace: (d, comment) => storage.writeSnapshot(d, comment),
      close: () => storage.close(),
    };
  }
  // Offline snapshots have no _is_diff (as ovsdb-tool compact/convert write them); appends use diffs.
  const { db, storage } = FileStorage.open(path, { policy });
  return {
    engine: 'file',
    db,
    write: (c) => storage.write(c),
    replace: (d, comment) => storage.writeSnapshot(d, comment, { diff: false }),
    close: () => storage.close(),
  };
}

/** Writes `db` as a new database of `engine` at `path` (must not exist). */
export function writeNewDb(path: string, engine: Engine, db: Database, comment: string): void {
  if (engine === 'lmdb') {
    LmdbStorage.create(path, schemaToJson(db.schema));
    const { storage } = LmdbStorage.open(path);
    try {
      storage.writeSnapshot(db, comment);
    } finally {
      storage.close();
    }
    return;
  }
  try {
    const log = RecordLog.create(path, stringify(schemaToJson(db.schema)));
    try {
      log.append(stringify(snapshotRecord(db, comment, false)));
      log.sync();
    } finally {
      log.close();
    }
  } catch (e) {
    asOvsdb(e);
  }
}
