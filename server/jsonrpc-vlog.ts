// Routes JSON-RPC / unixctl log lines (RpcLog) to the OVS-style vlog modules ("jsonrpc", "reconnect",
// "unixctl"). Kept apart from jsonrpc.ts so that light clients (appctl) do not load the logging stack.

import { getLogger } from '../cli/vlog.ts';
import type { RpcLog } from './jsonrpc.ts';

export const vlogRpcLog: RpcLog = (module, level, message) => {
  const l = getLogger(module);
  switch (level) {
    case 'ERR':
      return l.err(message);
    case 'WARN':
      return l.warn(message);
    case 'INFO':
      return l.info(message);
    case 'DBG':
      return l.dbg(message);
  }
};
// Asked once per message sent or received: the "jsonrpc" logger is looked up once.
const jsonrpcLogger = getLogger('jsonrpc');
vlogRpcLog.debugOn = (module) => (module === 'jsonrpc' ? jsonrpcLogger : getLogger(module)).dbgOn();
