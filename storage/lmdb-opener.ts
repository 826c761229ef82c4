// The LMDB engine's opener for ovsdb-server (`--storage=lmdb`): each DATABASE argument names an LMDB data
// file made by `ovsdb-ts tool create --storage=lmdb` (or `ovsdb-ts tool import`).
import type { DatabaseOpener } from '../server/app.ts';
import type { RpcLog } from '../server/jsonrpc.ts';
import { LmdbStorage } from './lmdb.ts';

export function lmdbOpener(_opts: { log: RpcLog }): DatabaseOpener {
  return (file) => {
    const { db, storage } = LmdbStorage.open(file);
    return {
      db,
      storage: {
        path: file,
        write: (commit, txnId) => storage.write(commit, txnId),
        writeSnapshot: (d, comment, txnId) => storage.writeSnapshot(d, comment, txnId),
        compact: () => storage.compact(),
        status: () => storage.status(),
        close: () => storage.close(),
      },
    };
  };
}
