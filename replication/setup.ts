// Active/backup roles of the ovsdb-server process (reference §5.1, §5.4–5.8) and their ovs-appctl commands
// (§6.4). The role and the remembered active live here; the client session towards the active is a
// Replicator, recreated on every re-initialization.
import type { ServerApp } from '../server/app.ts';
import { connectRemote } from '../server/tls.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import type { UnixctlServer } from '../server/unixctl.ts';
import { ExcludeList } from './exclude.ts';
import { Replicator } from './replicator.ts';

export interface ReplicationSetupOptions {
  syncFrom: string | null;
  syncExclude: string | null;
  active: boolean;
  log: RpcLog;
  onConfigChange: () => void;
}

export interface ReplicationHandle {
  start(): void;
  close(): void;
  savedState(): { sync_from: string | null; sync_exclude: string | null; is_backup: boolean };
}

export const DEFAULT_PROBE_INTERVAL_MS = 60_000;

/** Role state and replication control, independent of the command line (tests drive it directly). */
export class ReplicationManager {
  syncFrom: string | null;
  syncExclude: string | null;
  probeInterval = DEFAULT_PROBE_INTERVAL_MS;
  private replicator: Replicator | null = null;
  /** Survives re-initializations: which databases may resume from their last txn id (see Replicator). */
  private readonly resumable = new Map<string, string>();

  constructor(
    private readonly app: ServerApp,
    private readonly opts: ReplicationSetupOptions,
  ) {
    this.syncFrom = opts.syncFrom;
    this.syncExclude = opts.syncExclude;
    app.server.setBackup(opts.syncFrom !== null && !opts.active);
  }

  get isBackup(): boolean {
    return this.app.server.isBackup;
  }

  get current(): Replicator | null {
    return this.replicator;
  }

  /** Starts replication if the server starts as a backup. */
  start(): void {
    if (this.isBackup) this.reinit();
  }

  close(): void {
    this.replicator?.close();
    this.replicator = null;
  }

  /** (Re)starts replication towards sync_from (reference `replication_init`): a new session, state INIT. */
  reinit(): void {
    this.close();
    if (this.syncFrom === null) return;
    const r: Replicator = new Replicator({
      server: this.app.server,
      target: this.syncFrom,
      exclude: ExcludeList.parse(this.syncExclude),
      probeInterval: this.probeInterval,
      log: this.opts.log,
      resumable: this.resumable,
      connect: (target) => connectRemote(target, this.app.ssl),
      onError: () => {
        // §5.4: a replication error makes the server active (not saved: a --monitor restart is a backup again).
        if (this.replicator !== r) return;
        this.close();
        this.app.server.setBackup(false);
      },
    });
    this.replicator = r;
    r.start();
  }

  connect(): string {
    if (this.syncFrom === null) return 'Unable to connect: active server is not specified.\n';
    this.reinit();
    this.app.server.setBackup(true);
    this.opts.onConfigChange();
    return '';
  }

  disconnect(): string {
    this.close();
    this.app.server.setBackup(false);
    this.opts.onConfigChange();
    return '';
  }

  setProbeInterval(text: string): string {
    if (!/^\s*[+-]?[0-9]+$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) {
      return 'Invalid probe interval, integer value expected\n';
    }
    this.probeInterval = Math.max(0, Number(text));
    if (this.isBackup) this.replicator?.setProbeInterval(this.probeInterval);
    return '';
  }

  setExclude(text: string | null): string {
    this.syncExclude = text;
    if (this.isBackup) this.reinit();
    this.opts.onConfigChange();
    return '';
  }

  /** add-db / remove-db while backup: a new replication round over the new set of databases. */
  databasesChanged(): void {
    if (this.isBackup) this.reinit();
  }

  /** `ovsdb-server/sync-status`: the reference's lines, then (backup only) lag and progress lines. */
  syncStatus(): string {
    if (!this.isBackup) return 'state: active\n';
    const r = this.replicator;
    let out = 'state: backup\n';
    if (r === null) return out + `not connected to ${this.syncFrom ?? ''}\n`;
    switch (r.state) {
      case 'REPLICATING': {
        out += `replicating: ${r.target}\n`;
        out += `database: ${r.databases.join(', ')}\n`;
        const ex = ExcludeList.parse(this.syncExclude);
        if (ex.size > 0) out += `exclude: ${ex}\n`;
        break;
      }
      case 'ERR':
        out += `Replication to (${r.target}) failed\n`;
        break;
      default:
        out += `connecting: ${r.target}\n`;
    }
    return out + this.extraStatus(r);
  }

  private extraStatus(r: Replicator): string {
    const s = r.stats;
    let out = '';
    for (const name of r.databases) {
      const served = this.app.server.databases.get(name);
      if (served) out += `last transaction id: ${name} ${served.history.latest}\n`;
    }
    out += `transactions applied: ${s.transactionsApplied}\n`;
    out +=
      s.lastUpdateAt === null
        ? 'seconds since last update: never\n'
        : `seconds since last update: ${((Date.now() - s.lastUpdateAt) / 1000).toFixed(3)}\n`;
    if (s.lastSync !== null) out += `last initial sync: ${s.lastSync.mode}, ${s.lastSync.ms} ms\n`;
    if (s.snapshotBytes !== null) out += `initial snapshot: loading, ${s.snapshotBytes} bytes received\n`;
    return out;
  }

  savedState(): { sync_from: string | null; sync_exclude: string | null; is_backup: boolean } {
    return { sync_from: this.syncFrom, sync_exclude: this.syncExclude, is_backup: this.isBackup };
  }

  /** The replication commands of ovs-appctl (§6.3 usage strings, §6.4 behaviour). */
  registerCommands(ctl: UnixctlServer): void {
    ctl.register('ovsdb-server/sync-status', '', 0, 0, () => this.syncStatus());
    ctl.register('ovsdb-server/get-active-ovsdb-server', '', 0, 0, () => (this.syncFrom === null ? '' : `${this.syncFrom}\n`));
    ctl.register('ovsdb-server/set-active-ovsdb-server', '', 1, 1, ([target]) => {
      this.syncFrom = target;
      this.opts.onConfigChange();
      return '';
    });
    ctl.register('ovsdb-server/connect-active-ovsdb-server', '', 0, 0, () => this.connect());
    ctl.register('ovsdb-server/disconnect-active-ovsdb-server', '', 0, 0, () => this.disconnect());
    ctl.register('ovsdb-server/set-active-ovsdb-server-probe-interval', '', 1, 1, ([n]) => this.setProbeInterval(n));
    // Without an argument the reference crashes; we clear the list.
    ctl.register('ovsdb-server/set-sync-exclude-tables', '', 0, 1, (args) => this.setExclude(args[0] ?? null));
    ctl.register('ovsdb-server/get-sync-exclude-tables', '', 0, 0, () => {
      const text = ExcludeList.parse(this.syncExclude).toString();
      return text === '' ? '' : `${text}\n`;
    });
  }
}

export function setupReplication(app: ServerApp, ctl: UnixctlServer, opts: ReplicationSetupOptions): ReplicationHandle {
  const mgr = new ReplicationManager(app, opts);
  mgr.registerCommands(ctl);
  app.onDatabasesChanged(() => mgr.databasesChanged());
  return {
    start: () => mgr.start(),
    close: () => mgr.close(),
    savedState: () => mgr.savedState(),
  };
}
