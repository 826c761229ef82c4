// The LMDB engine's opener (selected with --storage=lmdb). Placeholder until the engine lands.
import { OvsdbError } from '../schema/error.ts';
import type { DatabaseOpener } from '../server/app.ts';
import type { RpcLog } from '../server/jsonrpc.ts';

export function lmdbOpener(_opts: { log: RpcLog }): DatabaseOpener {
  return (file) => {
    throw new OvsdbError('I/O error', `${file}: the LMDB engine is not available in this build`);
  };
}
