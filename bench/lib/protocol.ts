// Messages between the benchmark's main thread and its load-generator worker threads.

/** Each client runs `txnsPerClient` sequential 1-row transactions (insert Logical_Switch). */
export interface TxnTask {
  type: 'txn';
  taskId: number;
  endpoint: string;
  db: string;
  clients: number;
  txnsPerClient: number;
  /** Unique per task and worker, so switch names never collide. */
  prefix: string;
}

/** Each client sets up a monitor on Logical_Switch and waits for `expected` new rows named `prefix*`. */
export interface SubscribeTask {
  type: 'subscribe';
  taskId: number;
  endpoint: string;
  db: string;
  clients: number;
  method: 'monitor' | 'monitor_cond';
  expected: number;
  prefix: string;
  /**
   * monitor_cond only: each client gets its own condition, ovn-controller style — its own row
   * (`name == "<prefix>own-<clientBase + i>"`) or any other row (`name != ""`) — so every client is a
   * distinct monitor shape that still receives every new row.
   */
  distinct?: { clientBase: number };
}

export type TaskSpec = TxnTask | SubscribeTask;

export type ToWorker = TaskSpec | { type: 'go'; taskId: number } | { type: 'abort'; taskId: number };

export interface WorkerDone {
  type: 'done';
  taskId: number;
  /** Per-transaction latency (txn) or per-row delivery latency (subscribe), ms. */
  latencies: Float64Array;
  /** Absolute clock (clock.ts) of the last completion / last delivery. */
  lastAbs: number;
  /** Event-loop utilization of the worker between 'go' and 'done' (1.0 = saturated). */
  elu: number;
}

export type FromWorker =
  | { type: 'ready'; taskId: number }
  | WorkerDone
  | { type: 'error'; taskId: number; message: string };
