// Active/backup replication wiring for the ovsdb-server process. Placeholder: always active.
import type { ServerApp } from '../server/app.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import type { UnixctlServer } from '../server/unixctl.ts';

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

export function setupReplication(_app: ServerApp, ctl: UnixctlServer, opts: ReplicationSetupOptions): ReplicationHandle {
  ctl.register('ovsdb-server/sync-status', '', 0, 0, () => 'state: active\n');
  return {
    start() {},
    close() {},
    savedState: () => ({ sync_from: opts.syncFrom, sync_exclude: opts.syncExclude, is_backup: false }),
  };
}
