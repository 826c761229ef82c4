// The OVSDB server core: the databases it serves, the commit path (storage → apply → history → monitors →
// waiting triggers), the role (active/backup), locks, and the JSON-RPC sessions of its clients.
//
// Per-database differences (standalone, relay, clustered) live behind ServedDatabase.model — see
// database-model.ts for the seam: the _Server row provider, the write hook, and the "not available yet"
// state (registerUnavailable → attachDatabase) shared by relays before their first sync and joining
// cluster members.
import { newUuid } from '../schema/atom.ts';
import type { Commit } from '../storage/database.ts';
import { Database } from '../storage/database.ts';
import { OvsdbError } from '../schema/error.ts';
import { LockManager } from './locks.ts';
import { createServerDatabase, schemaColumnText } from './server-db.ts';
import type { DatabaseSchema } from '../schema/schema.ts';
import { execute } from '../storage/execution.ts';
import { Transaction } from '../storage/transaction.ts';
import { datumFromJson } from '../schema/datum.ts';
import type { JsonValue } from '../schema/json.ts';
import type { Session } from './session.ts';
import { CommitHistory } from './history.ts';
import { MonitorSet } from './monitor.ts';
import { STANDALONE, type DatabaseModel } from './database-model.ts';
import { stringify } from '../schema/json.ts';

/** A durable engine behind one database (file format or LMDB). */
export interface DbStorage {
  /** Makes the commit durable enough to acknowledge (written to the OS; fsynced when commit.durable). */
  write(commit: Commit, txnId: string): void;
  /** Replaces the whole contents in one atomic step (replication snapshots, conversion). */
  writeSnapshot?(db: Database, comment: string, txnId: string): void;
  /** Online compaction. */
  compact?(db: Database): void;
  /** `ovsdb/file/column-diff-enable` (after --disable-file-column-diff). */
  enableColumnDiff?(): void;
  /** `ovsdb-server/get-db-storage-status`: null when healthy. */
  status?(): string | null;
  readonly path?: string;
  close(): void;
}

export interface ServedDatabase {
  readonly name: string;
  /** Where the contents come from and what that changes (database-model.ts). */
  readonly model: DatabaseModel;
  db: Database;
  storage: DbStorage | null;
  readonly history: CommitHistory;
  monitors: MonitorSet;
  /** Wait-blocked transactions to retry after each commit. */
  readonly triggers: Set<Trigger>;
}

/** A `transact` blocked in `wait`, retried after every commit and at its deadline. */
export interface Trigger {
  retry(): void;
}

export interface ServerEvents {
  log(module: string, level: 'ERR' | 'WARN' | 'INFO' | 'DBG', message: string): void;
}

export class OvsdbServer {
  readonly serverId = newUuid();
  readonly databases = new Map<string, ServedDatabase>();
  readonly sessions = new Set<Session>();
  readonly locks = new LockManager();
  /** Backup role: clients may not write. */
  private backup = false;
  /** `ovsdb-server/disable-monitor-cond` was run. */
  monitorCondDisabled = false;
  /** Registered databases without a schema yet (relay before its first sync, joining member): R9. */
  readonly unavailable = new Map<string, DatabaseModel>();
  private readonly serverDb: ServedDatabase;
  /** _Server row per database name: its uuid and the last row written (to skip unchanged rewrites). */
  /** Per database: its `_Server.Database` row and the text of each column as last written. */
  private readonly serverRows = new Map<string, { uuid: string; columns: Map<string, JsonValue> }>();
  /** Called after every commit and when a database becomes available (db: remotes follow contents). */
  readonly commitHooks = new Set<(served: ServedDatabase) => void>();

  /**
   * `standaloneHistory: false` (--standalone-history=off): standalone databases keep no transaction
   * history, as in the reference.
   */
  constructor(
    readonly events: ServerEvents = { log: () => {} },
    private readonly opts: { readonly standaloneHistory?: boolean } = {},
  ) {
    this.serverDb = this.serve(createServerDatabase(), null);
    this.refreshServerDb();
  }

  get isBackup(): boolean {
    return this.backup;
  }

  setBackup(backup: boolean): void {
    this.backup = backup;
  }

  private serve(db: Database, storage: DbStorage | null, model: DatabaseModel = STANDALONE): ServedDatabase {
    const served: ServedDatabase = {
      name: db.name,
      model,
      db,
      storage,
      // --standalone-history=off concerns standalone databases only (relays and clusters keep theirs).
      history: new CommitHistory({
        disabled: model.kind === 'standalone' && this.opts.standaloneHistory === false,
        boundByAtoms: model.kind !== 'standalone',
      }),
      monitors: new MonitorSet(db),
      triggers: new Set(),
    };
    this.databases.set(db.name, served);
    return served;
  }

  /** Served or registered (available or not). */
  hasDatabase(name: string): boolean {
    return this.databases.has(name) || this.unavailable.has(name);
  }

  /** Every registered database name, available or not (list_dbs). */
  databaseNames(): string[] {
    return [...this.databases.keys(), ...this.unavailable.keys()];
  }

  /** Adds a database; non-db-change-aware sessions are disconnected, as the reference does. */
  addDatabase(
    db: Database,
    storage: DbStorage | null,
    opts: { quiet?: boolean; model?: DatabaseModel } = {},
  ): ServedDatabase {
    if (this.hasDatabase(db.name)) throw new OvsdbError('ovsdb error', `${db.name}: duplicate database name`);
    const served = this.serve(db, storage, opts.model);
    if (!opts.quiet) this.disconnectUnaware(`adding ${db.name} database`);
    this.refreshServerDb();
    return served;
  }

  /** Registers a database that has no schema yet; its model calls attachDatabase() when it has one. */
  registerUnavailable(name: string, model: DatabaseModel, opts: { quiet?: boolean } = {}): void {
    if (this.hasDatabase(name)) throw new OvsdbError('ovsdb error', `${name}: duplicate database name`);
    this.unavailable.set(name, model);
    if (!opts.quiet) this.disconnectUnaware(`adding ${name} database`);
    this.refreshServerDb();
  }

  /** A registered database got its schema and first contents: it is served from now on. */
  attachDatabase(name: string, db: Database): ServedDatabase {
    const model = this.unavailable.get(name);
    if (model === undefined || db.name !== name) throw new Error(`attachDatabase: ${name} is not waiting for a schema`);
    this.unavailable.delete(name);
    const served = this.serve(db, null, model);
    this.disconnectUnaware(`database ${name} connected to storage`);
    this.refreshServerDb();
    // Contents appeared: whatever follows them (db: remotes) looks again.
    for (const hook of this.commitHooks) hook(served);
    return served;
  }

  removeDatabase(name: string, reason: string): void {
    if (this.unavailable.delete(name)) {
      this.disconnectUnaware(reason);
      this.refreshServerDb();
      return;
    }
    const served = this.databases.get(name);
    if (served === undefined) return;
    this.databases.delete(name);
    for (const s of [...this.sessions]) s.databaseRemoved(served, reason);
    served.triggers.clear();
    served.storage?.close();
    this.refreshServerDb();
  }

  /** Replaces a database's contents and schema (online convert); sessions are told as for removal. */
  replaceDatabase(name: string, db: Database, reason: string, txnId?: string): void {
    const served = this.databases.get(name)!;
    for (const s of [...this.sessions]) s.databaseRemoved(served, reason);
    served.db = db;
    served.monitors = new MonitorSet(db);
    served.history.clear(txnId, db.atoms);
    this.refreshServerDb();
  }

  /** Re-executes the transactions waiting on this database (its model's state changed, e.g. a leader appeared). */
  retryTriggers(served: ServedDatabase): void {
    if (served.triggers.size > 0) for (const t of [...served.triggers]) t.retry();
  }

  disconnectUnaware(reason: string): void {
    for (const s of [...this.sessions]) if (!s.dbChangeAware) s.disconnect(reason);
  }

  /** Runs an internal transaction (e.g. _Server maintenance, replication); throws on failure. */
  transactInternal(served: ServedDatabase, ops: JsonValue[], txnId?: string): void {
    const out = execute(served.db, ops);
    if (out.kind !== 'done') throw new Error('internal transaction blocked');
    if (out.error) throw new Error(`internal transaction failed: ${out.error.render()}`);
    if (out.commit) this.commit(served, out.commit, txnId);
  }

  /**
   * The one commit path: storage first (an I/O error fails the transaction, nothing is applied), then the
   * in-memory apply, history, monitor fan-out, and the waiting triggers of this database.
   */
  commit(served: ServedDatabase, commit: Commit, txnId: string = newUuid()): void {
    served.storage?.write(commit, txnId);
    served.db.apply(commit);
    served.history.record(txnId, commit, served.db.atoms);
    // update3 names the commit by the history's id for it (all zeros when no history is kept).
    served.monitors.onCommit(commit, served.history.latest);
    for (const s of this.sessions) s.flushMonitors(served);
    if (served.triggers.size > 0) for (const t of [...served.triggers]) t.retry();
    for (const hook of this.commitHooks) hook(served);
  }

  /**
   * Keeps _Server.Database in step with the registered databases (one row each, _Server included): rows
   * are added and deleted with the databases, and rewritten when their model's state changed (models call
   * this when it does), and after a schema replacement.
   */
  refreshServerDb(): void {
    const ops: JsonValue[] = [];
    for (const [name, entry] of this.serverRows) {
      if (!this.hasDatabase(name)) {
        ops.push({ op: 'delete', table: 'Database', where: [['_uuid', '==', ['uuid', entry.uuid]]] });
        this.serverRows.delete(name);
      }
    }
    const rowOf = (name: string, model: DatabaseModel, schema: JsonValue): { [column: string]: JsonValue } => {
      const s = model.serverRow();
      const opt = (v: JsonValue | null): JsonValue => (v === null ? ['set', []] : v);
      return {
        name,
        model: model.kind,
        connected: s.connected,
        leader: s.leader,
        schema,
        cid: opt(s.cid === null ? null : ['uuid', s.cid]),
        sid: opt(s.sid === null ? null : ['uuid', s.sid]),
        index: opt(s.index),
      };
    };
    // Called on every applied entry of a clustered database (its index moves): only the columns that
    // changed are written. A string column is compared as it is (the schema column is kilobytes, and the
    // same cached string each time), others by their text.
    const columnKey = (v: JsonValue): JsonValue => (typeof v === 'string' ? v : stringify(v));
    const put = (name: string, row: { [column: string]: JsonValue }) => {
      const entry = this.serverRows.get(name);
      if (entry === undefined) {
        const fresh = newUuid();
        const columns = new Map<string, JsonValue>();
        for (const c in row) columns.set(c, columnKey(row[c]!));
        this.serverRows.set(name, { uuid: fresh, columns });
        ops.push({ op: 'insert', table: 'Database', uuid: fresh, row });
        return;
      }
      let changed: { [column: string]: JsonValue } | null = null;
      for (const c in row) {
        const v = columnKey(row[c]!);
        if (entry.columns.get(c) === v) continue;
        entry.columns.set(c, v);
        (changed ??= {})[c] = row[c]!;
      }
      if (changed !== null) updates.push({ uuid: entry.uuid, row: changed });
    };
    const updates: { uuid: string; row: { [column: string]: JsonValue } }[] = [];
    for (const served of this.databases.values()) {
      put(served.name, rowOf(served.name, served.model, schemaText(served.db)));
    }
    for (const [name, model] of this.unavailable) put(name, rowOf(name, model, ['set', []]));
    if (ops.length === 0 && updates.length > 0) {
      // Only values changed (a clustered database's index, on every applied entry): the commit is made
      // directly, without executing operations.
      this.commit(this.serverDb, this.serverRowUpdates(updates));
      return;
    }
    for (const u of updates) ops.push({ op: 'update', table: 'Database', where: [['_uuid', '==', ['uuid', u.uuid]]], row: u.row });
    if (ops.length > 0) this.transactInternal(this.serverDb, ops);
  }

  private serverRowUpdates(updates: readonly { uuid: string; row: { [column: string]: JsonValue } }[]): Commit {
    const db = this.serverDb.db;
    const table = db.table('Database');
    const txn = new Transaction(db);
    for (const u of updates) {
      const row = table.rows.get(u.uuid)!;
      const data = row.data.slice();
      for (const c in u.row) {
        const col = table.schema.columnsByName.get(c)!;
        data[col.index] = datumFromJson(col.type, u.row[c]!);
      }
      txn.update('Database', { uuid: u.uuid, version: row.version, data });
    }
    return txn.prepare();
  }

  isReservedDb(name: string): boolean {
    return name.startsWith('_');
  }
}

/** The `schema` column text, serialized once per schema object (it is often kilobytes). */
const schemaTexts = new WeakMap<DatabaseSchema, string>();
function schemaText(db: Database): string {
  let t = schemaTexts.get(db.schema);
  if (t === undefined) schemaTexts.set(db.schema, (t = schemaColumnText(db.schema)));
  return t;
}
