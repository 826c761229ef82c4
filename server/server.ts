// The OVSDB server core: the databases it serves, the commit path (storage → apply → history → monitors →
// waiting triggers), the role (active/backup), locks, and the JSON-RPC sessions of its clients.
import { newUuid } from '../schema/atom.ts';
import type { Commit } from '../storage/database.ts';
import { Database } from '../storage/database.ts';
import { OvsdbError } from '../schema/error.ts';
import { LockManager } from './locks.ts';
import { createServerDatabase, schemaColumnText } from './server-db.ts';
import { execute } from '../storage/execution.ts';
import type { JsonValue } from '../schema/json.ts';
import type { Session } from './session.ts';
import { CommitHistory } from './history.ts';
import { MonitorSet } from './monitor.ts';

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
  private readonly serverDb: ServedDatabase;
  /** _Server row uuid per database name. */
  private readonly serverRows = new Map<string, string>();
  /** Called after every commit (db: remotes follow database contents). */
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

  private serve(db: Database, storage: DbStorage | null): ServedDatabase {
    const served: ServedDatabase = {
      name: db.name,
      db,
      storage,
      history: new CommitHistory({ disabled: this.opts.standaloneHistory === false }),
      monitors: new MonitorSet(db),
      triggers: new Set(),
    };
    this.databases.set(db.name, served);
    return served;
  }

  /** Adds a database; non-db-change-aware sessions are disconnected, as the reference does. */
  addDatabase(db: Database, storage: DbStorage | null, opts: { quiet?: boolean } = {}): ServedDatabase {
    if (this.databases.has(db.name)) throw new OvsdbError('ovsdb error', `${db.name}: duplicate database name`);
    const served = this.serve(db, storage);
    if (!opts.quiet) this.disconnectUnaware(`adding ${db.name} database`);
    this.refreshServerDb();
    return served;
  }

  removeDatabase(name: string, reason: string): void {
    const served = this.databases.get(name);
    if (served === undefined) return;
    this.databases.delete(name);
    for (const s of [...this.sessions]) s.databaseRemoved(served, reason);
    served.triggers.clear();
    served.storage?.close();
    this.refreshServerDb();
  }

  /** Replaces a database's contents and schema (online convert); sessions are told as for removal. */
  replaceDatabase(name: string, db: Database, reason: string): void {
    const served = this.databases.get(name)!;
    for (const s of [...this.sessions]) s.databaseRemoved(served, reason);
    served.db = db;
    served.monitors = new MonitorSet(db);
    served.history.clear();
    this.refreshServerDb(true);
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
    served.history.record(txnId, commit);
    // update3 names the commit by the history's id for it (all zeros when no history is kept).
    served.monitors.onCommit(commit, served.history.latest);
    for (const s of this.sessions) s.flushMonitors(served);
    if (served.triggers.size > 0) for (const t of [...served.triggers]) t.retry();
    for (const hook of this.commitHooks) hook(served);
  }

  /** Keeps _Server.Database in step with the served databases (one row each, _Server included). */
  refreshServerDb(schemaChanged = false): void {
    const ops: JsonValue[] = [];
    for (const [name, uuid] of this.serverRows) {
      if (!this.databases.has(name)) {
        ops.push({ op: 'delete', table: 'Database', where: [['_uuid', '==', ['uuid', uuid]]] });
        this.serverRows.delete(name);
      }
    }
    for (const served of this.databases.values()) {
      const row = {
        name: served.name,
        model: 'standalone',
        connected: true,
        leader: true,
        schema: schemaColumnText(served.db.schema),
      };
      const uuid = this.serverRows.get(served.name);
      if (uuid === undefined) {
        const fresh = newUuid();
        this.serverRows.set(served.name, fresh);
        ops.push({ op: 'insert', table: 'Database', uuid: fresh, row });
      } else if (schemaChanged) {
        ops.push({ op: 'update', table: 'Database', where: [['_uuid', '==', ['uuid', uuid]]], row });
      }
    }
    if (ops.length > 0) this.transactInternal(this.serverDb, ops);
  }

  isReservedDb(name: string): boolean {
    return name.startsWith('_');
  }
}
