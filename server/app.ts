// The ovsdb-server process around the core: databases opened from files, the configured remotes, and the
// ovs-appctl commands (reference §6.3–6.4). cli/ovsdb-server.ts builds one of these from the command line.
//
// A database argument is a file (standalone, through the configured opener) or `relay:DB:REMOTES` (a
// Relay model, replication/relay.ts); a clustered file would open here as a third kind of model. The
// commands below treat them through their model (database-model.ts): a database without storage
// compacts as a no-op and reports `status: ok`; the db: remotes' status is written back only into
// databases that allow local writes.
import fs from 'node:fs';
import path from 'node:path';
import { OvsdbError } from '../schema/error.ts';
import { FileStorage } from '../storage/file.ts';
import type { Database } from '../storage/database.ts';
import { OvsdbServer, type DbStorage } from './server.ts';
import { openRemote, RemoteError, type Remote, type SocketFiles } from './remotes.ts';
import { DbRefError, expandRemotes, parseDbRef, type RemoteConfig } from './db-remotes.ts';
import type { TlsSettings } from './tls.ts';
import { UnixctlError, type UnixctlServer } from './unixctl.ts';
import { coverageRead, coverageRun, coverageShow } from './coverage.ts';
import type { RpcLog } from './jsonrpc.ts';
import type { JsonValue } from '../schema/json.ts';
import { Relay } from '../replication/relay.ts';
import { isRelaySpec, parseRelaySpec } from '../replication/relay-spec.ts';
import { connectRemote } from './tls.ts';
import { ClusteredDatabase, isClusteredFile } from '../storage/clustered.ts';
import { ClusterModel, compactCluster, registerClusterCommands } from './cluster.ts';

export interface AppLogger {
  log: RpcLog;
}

export interface OpenedDatabase {
  db: Database;
  storage: DbStorage;
}

/** Opens a database file with the configured engine. */
export type DatabaseOpener = (file: string) => OpenedDatabase;

export interface AppOptions {
  readonly open: DatabaseOpener;
  readonly log: RpcLog;
  /** --disable-file-column-diff: offer ovsdb/file/column-diff-enable. */
  readonly columnDiffDisabled?: boolean;
  /** Called when the runtime configuration changes (for --monitor restarts). */
  readonly onConfigChange?: () => void;
  /** false: --standalone-history=off (no transaction history, as the reference). */
  readonly standaloneHistory?: boolean;
  /** The punix: socket files of the remotes (removed on a fatal signal, as the reference does). */
  readonly socketFiles?: SocketFiles;
  /** True while upstream JSON-RPC traffic should be logged (`-vjsonrpc:dbg`), as the reference does. */
  readonly traceUpstream?: () => boolean;
  /** Dies at once with `message` (ovs_fatal: stderr, the fatal-signal cleanup, exit status 1). */
  readonly fatal?: (message: string) => void;
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export class ServerApp {
  readonly server: OvsdbServer;
  /** Database name → file it came from (or its `relay:` argument). */
  readonly files = new Map<string, string>();
  /** Relay databases by name. */
  readonly relays = new Map<string, Relay>();
  /** Clustered databases by name (joining ones included). */
  readonly clusters = new Map<string, ClusterModel>();
  private ctl: UnixctlServer | null = null;
  private clusterCommands = false;
  /** The --remote / add-remote strings, `db:` references included (what list-remotes prints). */
  readonly remotes = new Set<string>();
  /** Live remotes by a key of their target and options. */
  private readonly live = new Map<string, { remote: Remote; config: RemoteConfig }>();
  private readonly loggedErrors = new Set<string>();
  private reconcileQueued = false;
  private statusTimer: NodeJS.Timeout | null = null;
  private coverageTimer: NodeJS.Timeout | null = null;
  /** The first status write (at startup) happened. */
  private statusWritten = false;
  private exitHandlers: (() => void)[] = [];
  /** SSL settings for pssl:/ssl: remotes (and replication over ssl:). */
  ssl: TlsSettings | undefined;
  private dbListeners: (() => void)[] = [];

  constructor(readonly opts: AppOptions) {
    this.server = new OvsdbServer({ log: opts.log }, { standaloneHistory: opts.standaloneHistory });
    // db: remotes follow the database: re-read them after every commit (coalesced).
    this.server.commitHooks.add(() => {
      if (this.hasDbRemotes()) this.queueReconcile();
    });
  }

  private hasDbRemotes(): boolean {
    for (const r of this.remotes) if (r.startsWith('db:')) return true;
    return false;
  }

  private queueReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      this.reconcileRemotes();
    });
  }

  /** Opens and closes remotes so the live set matches the configuration and the db: contents. */
  reconcileRemotes(): void {
    const desired = new Map<string, RemoteConfig>();
    for (const spec of this.remotes) {
      if (!spec.startsWith('db:')) {
        desired.set(JSON.stringify({ target: spec }), { target: spec });
        continue;
      }
      let ref;
      try {
        ref = parseDbRef(this.server, spec);
      } catch (e) {
        this.logOnce((e as Error).message);
        continue;
      }
      for (const cfg of expandRemotes(this.server, ref, (m) => this.logOnce(m))) {
        const { source: _s, ...opts } = cfg;
        desired.set(JSON.stringify(opts), cfg);
      }
    }
    for (const [key, entry] of this.live) {
      if (!desired.has(key)) {
        entry.remote.close();
        this.live.delete(key);
      }
    }
    for (const [key, cfg] of desired) {
      if (this.live.has(key)) continue;
      try {
        const remote = openRemote(
          this.server,
          cfg.target,
          {
            readOnly: cfg.readOnly,
            probeInterval: cfg.inactivityProbe,
            maxBackoff: cfg.maxBackoff,
            role: cfg.role,
            socketFiles: this.opts.socketFiles,
          },
          this.opts.log,
          this.ssl,
        );
        this.live.set(key, { remote, config: cfg });
      } catch (e) {
        this.logOnce((e as Error).message);
      }
    }
    this.armStatusTimer();
  }

  private logOnce(msg: string): void {
    if (this.loggedErrors.has(msg)) return;
    this.loggedErrors.add(msg);
    this.opts.log('ovsdb_server', 'ERR', msg);
  }

  /** Every 2.5 s, db:-configured rows get is_connected and status written back, as the reference does. */
  private armStatusTimer(): void {
    const any = [...this.live.values()].some((e) => e.config.source);
    if (!any) {
      if (this.statusTimer) clearInterval(this.statusTimer);
      this.statusTimer = null;
      return;
    }
    if (this.statusTimer) return;
    this.statusTimer = setInterval(() => this.writeRemoteStatus(), 2500);
    this.statusTimer.unref();
    // The reference writes the status once at startup, in its first main-loop pass, then every 2.5 s.
    if (!this.statusWritten) {
      this.statusWritten = true;
      setImmediate(() => this.writeRemoteStatus());
    }
  }

  private writeRemoteStatus(): void {
    if (this.server.isBackup) return;
    const ops = new Map<string, JsonValue[]>();
    for (const { remote, config } of this.live.values()) {
      const src = config.source;
      if (!src) continue;
      const served = this.server.databases.get(src.db);
      // A relay's (or cluster member's) copy changes only from its source.
      if (served && !served.model.localWrites) continue;
      const table = served?.db.tables.get(src.table);
      const row = table?.rows.get(src.uuid);
      if (!served || !table || !row) continue;
      const hasCol = (n: string) => (table.schema.columnsByName.get(n)?.index ?? -1) >= 0;
      const status: [string, string][] = [];
      const port = remote.boundPort();
      if (port !== null) status.push(['bound_port', String(port)]);
      const n = remote.sessions.size;
      if (n > 1) status.push(['n_connections', String(n)]);
      const held: string[] = [];
      const waiting: string[] = [];
      for (const sess of remote.sessions) {
        const d = this.server.locks.describe(sess);
        held.push(...d.held);
        waiting.push(...d.waiting);
      }
      if (held.length) status.push(['locks_held', held.join(' ')]);
      if (waiting.length) status.push(['locks_waiting', waiting.join(' ')]);
      status.push(['sec_since_connect', '0'], ['sec_since_disconnect', '0']);
      status.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const rowJson: { [k: string]: JsonValue } = {};
      // A listener counts as connected only while it has sessions (as the reference reports it).
      if (hasCol('is_connected')) rowJson.is_connected = n > 0;
      if (hasCol('status')) rowJson.status = ['map', status];
      if (Object.keys(rowJson).length === 0) continue;
      const list = ops.get(src.db) ?? [];
      list.push({ op: 'update', table: src.table, where: [['_uuid', '==', ['uuid', src.uuid]]], row: rowJson });
      ops.set(src.db, list);
    }
    for (const [db, list] of ops) {
      const served = this.server.databases.get(db);
      if (!served) continue;
      try {
        this.server.transactInternal(served, list);
      } catch (e) {
        this.logOnce(`failed to update remote status: ${(e as Error).message}`);
      }
    }
  }

  onExit(fn: () => void): void {
    this.exitHandlers.push(fn);
  }

  /** Called after add-db / remove-db changed the served set (a backup then re-initializes replication). */
  onDatabasesChanged(fn: () => void): void {
    this.dbListeners.push(fn);
  }

  /**
   * Opens and serves a database file or a `relay:` argument; rejects with OvsdbError with the reference's
   * texts. A standalone file or a relay is served before this returns; a clustered file is read over
   * several event-loop turns (then see loaded()).
   */
  async addDatabaseFile(file: string, opts: { quiet?: boolean } = {}): Promise<string> {
    if (isRelaySpec(file)) return this.addRelay(file, opts);
    for (const f of this.files.values()) {
      if (isRelaySpec(f)) continue;
      if (sameFile(f, file)) throw new OvsdbError('ovsdb error', `${file}: already open`);
    }
    if (isClusteredFile(file)) return this.addCluster(file, opts);
    const { db, storage } = this.opts.open(file);
    const name = db.name;
    try {
      if (name.startsWith('_')) throw new OvsdbError('syntax error', `${name}: names beginning with "_" are reserved`);
      if (this.server.databases.has(name)) throw new OvsdbError('ovsdb error', `${name}: duplicate database name`);
    } catch (e) {
      storage.close();
      throw e;
    }
    this.server.addDatabase(db, storage, opts);
    this.files.set(name, path.resolve(file));
    this.opts.onConfigChange?.();
    for (const fn of this.dbListeners) fn();
    return name;
  }

  /** `relay:DB:REMOTES`: registered at once (not available until its first sync), then kept in sync. */
  private addRelay(arg: string, opts: { quiet?: boolean }): string {
    const spec = parseRelaySpec(arg);
    if (spec.name.startsWith('_')) throw new OvsdbError('ovsdb error', `${spec.name}: names beginning with "_" are reserved`);
    if (this.server.hasDatabase(spec.name)) throw new OvsdbError('ovsdb error', `${spec.name}: duplicate database name`);
    const relay = new Relay({
      server: this.server,
      spec,
      log: this.opts.log,
      connect: (target) => connectRemote(target, this.ssl),
      trace: this.opts.traceUpstream,
    });
    relay.start(opts);
    this.relays.set(spec.name, relay);
    this.files.set(spec.name, arg);
    this.opts.onConfigChange?.();
    for (const fn of this.dbListeners) fn();
    return spec.name;
  }

  /** Settles once every clustered database opened so far has rebuilt the contents of its file. */
  loaded(): Promise<void> {
    return Promise.all([...this.clusters.values()].map((c) => c.member.loaded())).then(() => {});
  }

  /** A clustered (or joining) file: a Raft member of its cluster (server/cluster.ts). */
  private async addCluster(file: string, opts: { quiet?: boolean }): Promise<string> {
    const member = await ClusteredDatabase.open(file, { log: this.opts.log, ssl: () => this.ssl });
    const name = member.name;
    try {
      if (name.startsWith('_')) throw new OvsdbError('syntax error', `${name}: names beginning with "_" are reserved`);
      if (this.server.hasDatabase(name)) throw new OvsdbError('ovsdb error', `${name}: duplicate database name`);
    } catch (e) {
      void member.close();
      throw e;
    }
    const model = new ClusterModel(member, {
      server: this.server,
      log: this.opts.log,
      onLeft: (n) => {
        this.clusters.delete(n);
        this.server.removeDatabase(n, `removing database ${n} because storage disconnected permanently`);
        this.files.delete(n);
        void member.close();
        this.opts.onConfigChange?.();
        for (const fn of this.dbListeners) fn();
      },
      onCrash: (text) => {
        // The listeners' socket files go with the process, as the reference's fatal exit unlinks them.
        for (const e of this.live.values()) e.remote.close();
        if (this.opts.fatal) this.opts.fatal(text);
        else {
          process.stderr.write(`ovsdb-server: ${text}\n`);
          process.exit(1);
        }
      },
    });
    this.clusters.set(name, model);
    this.files.set(name, path.resolve(file));
    model.start(opts);
    this.registerClusterCommands();
    this.opts.onConfigChange?.();
    for (const fn of this.dbListeners) fn();
    return name;
  }

  private registerClusterCommands(): void {
    if (this.clusterCommands || this.ctl === null || this.clusters.size === 0) return;
    this.clusterCommands = true;
    registerClusterCommands(this.ctl, () => this.clusters);
  }

  removeDatabase(name: string): void {
    const cluster = this.clusters.get(name);
    if (cluster) {
      this.clusters.delete(name);
      void cluster.member.close();
    }
    const relay = this.relays.get(name);
    if (relay) {
      relay.close();
      this.relays.delete(name);
    }
    this.server.removeDatabase(name, `removing ${name} database by user request`);
    this.files.delete(name);
    this.opts.onConfigChange?.();
    for (const fn of this.dbListeners) fn();
  }

  /** Adds a remote; a `db:` reference is validated first (DbRefError with the reference's texts). */
  addRemote(target: string): void {
    if (this.remotes.has(target)) return;
    if (target.startsWith('db:')) parseDbRef(this.server, target);
    this.remotes.add(target);
    this.reconcileRemotes();
    this.opts.onConfigChange?.();
  }

  removeRemote(target: string): boolean {
    if (!this.remotes.delete(target)) return false;
    this.reconcileRemotes();
    this.opts.onConfigChange?.();
    return true;
  }

  /** Stops everything; clustered members first hand leadership on (resolves when they are closed). */
  close(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.coverageTimer) clearInterval(this.coverageTimer);
    const clusters = [...this.clusters.values()].map((c) => c.member.close());
    this.clusters.clear();
    for (const e of this.live.values()) e.remote.close();
    this.live.clear();
    this.remotes.clear();
    for (const s of [...this.server.sessions]) s.conn.close();
    for (const relay of this.relays.values()) relay.close();
    for (const served of this.server.databases.values()) served.storage?.close();
    return Promise.all(clusters).then(() => {});
  }

  /**
   * `memory/show`: the reference's counters, by name, those it adds only when nonzero left out: atoms
   * (each key and map value of every column, _uuid and _version included), backlog (bytes waiting to be
   * sent), cells (rows × columns, the two implicit ones included), monitors (distinct monitor shapes, as
   * its shared monitors), n-weak-refs (weak references between distinct rows), the raft counters,
   * sessions, triggers, txn-history and txn-history-atoms (of relay and clustered databases, as there).
   */
  memoryShow(): string {
    let atoms = 0;
    let cells = 0;
    let shapes = 0;
    let weakRefs = 0;
    let triggers = 0;
    let history = 0;
    let historyAtoms = 0;
    for (const served of this.server.databases.values()) {
      atoms += served.db.atoms;
      for (const t of served.db.tables.values()) {
        const cols = t.schema.columns;
        cells += t.rows.size * (cols.length + 2);
        for (const [dst, referrers] of t.weakReferrers) {
          for (const [src, e] of referrers) if (src !== dst) weakRefs += e.n;
        }
      }
      shapes += served.monitors.shapes;
      triggers += served.triggers.size;
      // The reference keeps (and counts) history only for relay and clustered databases.
      if (served.model.kind !== 'standalone' && served.history.enabled) {
        history += served.history.size;
        historyAtoms += served.history.atoms();
      }
    }
    let backlog = 0;
    for (const sess of this.server.sessions) backlog += sess.conn.socket.writableLength ?? 0;
    const counters: [string, number, boolean][] = [
      ['atoms', atoms, false],
      ['backlog', backlog, false],
      ['cells', cells, false],
      ['monitors', shapes, true],
      ['n-weak-refs', weakRefs, true],
      ...this.raftCounters(),
      ['sessions', this.server.sessions.size, false],
      ['triggers', triggers, false],
      ['txn-history', history, false],
      ['txn-history-atoms', historyAtoms, false],
    ];
    return counters
      .filter(([, v, always]) => always || v !== 0)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
  }

  /** memory/show's raft-connections and raft-log, summed over the clustered databases. */
  private raftCounters(): [string, number, boolean][] {
    const sums = new Map<string, number>();
    for (const c of this.clusters.values()) {
      for (const [k, v] of c.member.memoryCounters()) sums.set(k, (sums.get(k) ?? 0) + v);
    }
    return [...sums].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => [k, v, false]);
  }

  /** The ovsdb-server/* commands that do not involve replication. */
  registerCommands(ctl: UnixctlServer): void {
    const s = this.server;
    this.ctl = ctl;
    this.registerClusterCommands();
    ctl.register('exit', '', 0, 0, () => {
      setImmediate(() => {
        for (const fn of this.exitHandlers) fn();
      });
      return '';
    });
    ctl.register('memory/show', '', 0, 0, () => this.memoryShow());
    ctl.register('coverage/show', '', 0, 0, () => coverageShow());
    ctl.register('coverage/read-counter', 'COUNTER', 1, 1, ([name]) => {
      const n = coverageRead(name);
      if (n === null) throw new UnixctlError('No such counter');
      return `${n}\n`;
    });
    // The counters' averages are folded in every 5 s, as the reference's main loop does.
    coverageRun();
    this.coverageTimer = setInterval(() => coverageRun(), 1000);
    this.coverageTimer.unref();
    ctl.register('ovsdb-server/list-dbs', '', 0, 0, () =>
      s.databaseNames().sort().map((n) => `${n}\n`).join(''),
    );
    ctl.register('ovsdb-server/add-db', 'DB', 1, 1, async ([file]) => {
      let name: string;
      try {
        name = await this.addDatabaseFile(file);
      } catch (e) {
        throw new UnixctlError(e instanceof OvsdbError ? e.render() : (e as Error).message);
      }
      // A clustered file is replayed over several turns: the reply comes once its contents are there.
      const cluster = this.clusters.get(name);
      return cluster === undefined ? '' : cluster.member.loaded().then(() => '');
    });
    ctl.register('ovsdb-server/remove-db', 'DB', 1, 1, ([name]) => {
      if (name.startsWith('_')) throw new UnixctlError('Cannot remove reserved database.');
      if (!s.hasDatabase(name)) throw new UnixctlError('Failed to find the database.');
      this.removeDatabase(name);
      return '';
    });
    ctl.register('ovsdb-server/list-remotes', '', 0, 0, () =>
      [...this.remotes.keys()].sort().map((r) => `${r}\n`).join(''),
    );
    ctl.register('ovsdb-server/add-remote', 'REMOTE', 1, 1, ([r]) => {
      try {
        this.addRemote(r);
      } catch (e) {
        if (e instanceof RemoteError || e instanceof DbRefError) throw new UnixctlError(e.message);
        throw e;
      }
      return '';
    });
    ctl.register('ovsdb-server/remove-remote', 'REMOTE', 1, 1, ([r]) => {
      if (!this.removeRemote(r)) throw new UnixctlError('no such remote');
      return '';
    });
    ctl.register('ovsdb-server/reconnect', '', 0, 0, () => {
      for (const sess of [...s.sessions]) sess.disconnect('user ran ovsdb-server/reconnect');
      return '';
    });
    ctl.register('ovsdb-server/compact', '', 0, 1, async (args) => {
      const targets = args.length ? args : s.databaseNames().filter((n) => !n.startsWith('_'));
      if (args.length) {
        if (args[0].startsWith('_')) throw new UnixctlError('cannot compact built-in databases');
        if (!s.hasDatabase(args[0])) throw new UnixctlError('no database by that name');
      }
      const errors: string[] = [];
      for (const name of targets) {
        // A relay has no storage: nothing to compact (the reference succeeds and does nothing).
        const served = s.databases.get(name);
        this.opts.log('ovsdb_server', 'INFO', `compacting ${name} database by user request`);
        const cluster = this.clusters.get(name);
        if (cluster !== undefined) {
          const err = await compactCluster(cluster);
          if (err !== null) errors.push(err);
          continue;
        }
        if (served === undefined) continue;
        try {
          served.storage?.compact?.(served.db);
        } catch (e) {
          errors.push(e instanceof OvsdbError ? e.render() : (e as Error).message);
        }
      }
      if (errors.length) throw new UnixctlError(errors.map((e) => `${e}\n`).join(''));
      return '';
    });
    ctl.register('ovsdb-server/get-db-storage-status', 'DB', 1, 1, ([name]) => {
      if (!s.hasDatabase(name)) throw new UnixctlError('Failed to find the database.');
      const cluster = this.clusters.get(name);
      if (cluster !== undefined) return `status: ${cluster.member.storageStatus() ?? 'ok'}`;
      return `status: ${s.databases.get(name)?.storage?.status?.() ?? 'ok'}`;
    });
    if (this.opts.columnDiffDisabled) {
      ctl.register('ovsdb/file/column-diff-enable', '', 0, 0, () => {
        for (const served of s.databases.values()) served.storage?.enableColumnDiff?.();
        return '';
      });
    }
    ctl.register('ovsdb-server/disable-monitor-cond', '', 0, 0, () => {
      s.monitorCondDisabled = true;
      for (const sess of [...s.sessions]) sess.disconnect('user ran ovsdb-server/disable-monitor-cond');
      return '';
    });
    ctl.register('ovsdb-server/perf-counters-show', '', 0, 0, () => 'performance counter is not supported on this platform');
    ctl.register('ovsdb-server/perf-counters-clear', '', 0, 0, () => '');
    ctl.register('ovsdb-server/memory-trim-on-compaction', 'on|off', 1, 1, ([v]) => {
      if (v !== 'on' && v !== 'off') throw new UnixctlError('invalid argument');
      this.opts.log('ovsdb_server', 'INFO', `memory trimming after compaction ${v === 'on' ? 'enabled' : 'disabled'}.`);
      return '';
    });
    ctl.register('ovsdb-server/tlog-list', '', 0, 0, () => {
      let out = 'database        table                       logging\n--------        -----                       -------\n';
      for (const name of [...s.databases.keys()].sort()) {
        out += `${name.padEnd(16, ' ')} \n`;
        const tables = [...s.databases.get(name)!.db.tables.keys()].sort();
        for (const t of tables) out += `                ${t.padEnd(27, ' ')} OFF\n`;
      }
      return out;
    });
    ctl.register('ovsdb-server/tlog-set', 'DB:TABLE on|off', 2, 2, ([spec, v]) => {
      if (!/^(on|off)$/i.test(v)) throw new UnixctlError('invalid command argument');
      const [db, table] = spec.split(':');
      if (!db || !table) throw new UnixctlError('invalid DB:TABLE argument');
      const served = s.databases.get(db);
      if (served === undefined) throw new UnixctlError('no such database');
      if (!served.db.tables.has(table)) throw new UnixctlError('no such table');
      return '';
    });
  }
}

/**
 * The default engine: the standard file format. Mid-file corruption refuses to start ('strict', the error
 * names the offset) unless `policy: 'reference'` (keep the data before it, as ovsdb-server 3.1); a torn tail
 * is always dropped with a WARN. Automatic compaction follows the reference's schedule.
 */
export function fileOpener(opts: {
  disableColumnDiff: boolean;
  log: RpcLog;
  policy?: 'strict' | 'reference';
  autoCompact?: boolean;
}): DatabaseOpener {
  return (file) => {
    const { db, storage } = FileStorage.open(file, {
      disableColumnDiff: opts.disableColumnDiff,
      policy: opts.policy ?? 'strict',
      autoCompact: opts.autoCompact ?? true,
      onLog: (level, msg) => opts.log('ovsdb_server', level, msg),
    });
    return {
      db,
      storage: {
        path: file,
        write: (commit) => storage.write(commit),
        writeSnapshot: (d, comment) => storage.writeSnapshot(d, comment),
        compact: (d) => storage.compact(d),
        status: () => storage.status(),
        enableColumnDiff: () => storage.enableColumnDiff(),
        close: () => storage.close(),
      },
    };
  };
}

