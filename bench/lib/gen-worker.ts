// Worker-thread entry of the load generator: runs a share of the clients of one task and reports back.
import { parentPort } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { RpcClient } from './jsonrpc.ts';
import { insertSwitch } from './ovn.ts';
import { nowAbs, sleep } from './clock.ts';
import { SampleList } from './stats.ts';
import type { FromWorker, SubscribeTask, ToWorker, TxnTask } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('gen-worker.ts must run in a worker thread');

interface Running {
  clients: RpcClient[];
  go: () => void;
}

const running = new Map<number, Running>();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

/** Connects, retrying while the server's listen backlog is full (EAGAIN on unix sockets, ECONNREFUSED). */
async function connectRetry(endpoint: string): Promise<RpcClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await RpcClient.connect(endpoint);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 200 || (code !== 'EAGAIN' && code !== 'ECONNREFUSED')) throw err;
      await sleep(5 + attempt);
    }
  }
}

async function connectAll(endpoint: string, n: number): Promise<RpcClient[]> {
  const out: RpcClient[] = [];
  // Small batches keep the server's listen backlog from overflowing with hundreds of clients.
  for (let i = 0; i < n; i += 8) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(8, n - i) }, () => connectRetry(endpoint)))));
  }
  return out;
}

/** Records the task's clients (so 'abort' can close them) and returns a promise resolved by 'go'. */
function register(taskId: number, clients: RpcClient[]): Promise<void> {
  return new Promise((go) => running.set(taskId, { clients, go }));
}

function finish(taskId: number, latencies: SampleList, lastAbs: number, elu0: EventLoopUtilization): void {
  const lat = latencies.toArray();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  post({ type: 'done', taskId, latencies: lat, lastAbs, elu }, [lat.buffer as ArrayBuffer]);
}

async function runTxn(t: TxnTask): Promise<void> {
  const clients = await connectAll(t.endpoint, t.clients);
  const started = register(t.taskId, clients);
  post({ type: 'ready', taskId: t.taskId });
  await started;
  const elu0 = performance.eventLoopUtilization();
  const lat = new SampleList();
  let lastAbs = 0;
  await Promise.all(
    clients.map(async (c, ci) => {
      for (let i = 0; i < t.txnsPerClient; i++) {
        const t0 = performance.now();
        await c.transact(t.db, [insertSwitch(`${t.prefix}-${ci}-${i}`)]);
        lat.push(performance.now() - t0);
      }
      lastAbs = Math.max(lastAbs, nowAbs());
    }),
  );
  finish(t.taskId, lat, lastAbs, elu0);
}

/** Reads the delivery stamp from a Logical_Switch row's external_ids ["map",[["t","..."]]]. */
function stampOf(row: unknown): number {
  if (row === null || typeof row !== 'object') return Number.NaN;
  const ext = (row as { external_ids?: unknown }).external_ids;
  if (!Array.isArray(ext) || ext[0] !== 'map' || !Array.isArray(ext[1])) return Number.NaN;
  for (const pair of ext[1] as unknown[]) {
    if (Array.isArray(pair) && pair[0] === 't') return Number(pair[1]);
  }
  return Number.NaN;
}

function nameOf(row: unknown): string {
  const name = row !== null && typeof row === 'object' ? (row as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : '';
}

async function runSubscribe(t: SubscribeTask): Promise<void> {
  const clients = await connectAll(t.endpoint, t.clients);
  const started = register(t.taskId, clients);
  const lat = new SampleList();
  let remaining = clients.length;
  let lastAbs = 0;
  let resolveAll!: () => void;
  let rejectAll!: (err: Error) => void;
  const allDone = new Promise<void>((res, rej) => {
    resolveAll = res;
    rejectAll = rej;
  });
  allDone.catch(() => undefined); // observed later by `await allDone`
  // A subscriber losing its connection would otherwise wait forever for rows.
  for (const c of clients) void c.closed.then(() => rejectAll(new Error('subscriber connection closed')));
  const v1 = t.method === 'monitor';
  const columns = ['name', 'external_ids'];
  const requestFor = (ci: number) => {
    if (v1) return { Logical_Switch: { columns } };
    if (!t.distinct) return { Logical_Switch: [{ columns }] };
    const where = [['name', '==', `${t.prefix}own-${t.distinct.clientBase + ci}`], ['name', '!=', '']];
    return { Logical_Switch: [{ columns, where }] };
  };

  await Promise.all(
    clients.map(async (c, ci) => {
      let seen = 0;
      c.onNotification = (method, params) => {
        if (method !== (v1 ? 'update' : 'update2')) return;
        const now = nowAbs();
        const updates = params[1] as { Logical_Switch?: Record<string, Record<string, unknown>> } | undefined;
        const rows = updates?.Logical_Switch;
        if (!rows) return;
        for (const uuid in rows) {
          const ru = rows[uuid]!;
          // v1: an insert is {"new":...} without "old"; v2: {"insert":...}.
          const row = v1 ? (ru['old'] === undefined ? ru['new'] : undefined) : ru['insert'];
          if (row === undefined || !nameOf(row).startsWith(t.prefix)) continue;
          lat.push(now - stampOf(row));
          if (++seen === t.expected) {
            lastAbs = Math.max(lastAbs, now);
            if (--remaining === 0) resolveAll();
          }
        }
      };
      await c.request(t.method, [t.db, 'bench', requestFor(ci)]);
    }),
  );
  post({ type: 'ready', taskId: t.taskId });
  await started;
  const elu0 = performance.eventLoopUtilization();
  if (t.expected === 0) resolveAll();
  await allDone;
  finish(t.taskId, lat, lastAbs, elu0);
}

async function closeTask(taskId: number): Promise<void> {
  const r = running.get(taskId);
  running.delete(taskId);
  if (r) await Promise.all(r.clients.map((c) => c.close()));
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'go') {
    running.get(msg.taskId)?.go();
    return;
  }
  if (msg.type === 'abort') {
    void closeTask(msg.taskId);
    return;
  }
  const run = msg.type === 'txn' ? runTxn(msg) : runSubscribe(msg);
  run
    .catch((err: unknown) => post({ type: 'error', taskId: msg.taskId, message: err instanceof Error ? err.message : String(err) }))
    .finally(() => void closeTask(msg.taskId));
});
