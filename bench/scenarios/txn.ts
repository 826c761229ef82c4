// Small-transaction throughput: sequential on one client, pipelined on one connection, many clients.
import { performance } from 'node:perf_hooks';
import { RpcClient } from '../lib/jsonrpc.ts';
import { NB_DB, insertSwitch } from '../lib/ovn.ts';
import { measurePhase, metric, type Scenario, type ScenarioContext } from '../lib/phase.ts';
import { SampleList, percentiles } from '../lib/stats.ts';
import type { TaskSpec } from '../lib/protocol.ts';

function latencyMetrics(count: number, wallMs: number, lat: ArrayLike<number>) {
  const [p50, p99] = percentiles(lat, [50, 99]);
  return {
    txn_per_s: metric((count * 1000) / wallMs, 'txn/s', 'higher'),
    p50_ms: metric(p50!, 'ms', 'lower'),
    p99_ms: metric(p99!, 'ms', 'lower'),
  };
}

async function sequential(ctx: ScenarioContext, phase = 'seq1'): Promise<void> {
  const n = ctx.scale.seqTxns;
  const c = await RpcClient.connect(ctx.server.endpoint);
  try {
    ctx.record(
      await measurePhase(ctx.server, phase, async () => {
        const lat = new SampleList();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const s = performance.now();
          await c.transact(NB_DB, [insertSwitch(`${phase}-${i}`)]);
          lat.push(performance.now() - s);
        }
        return { metrics: latencyMetrics(n, performance.now() - t0, lat.toArray()) };
      }),
    );
  } finally {
    await c.close();
  }
}

async function pipelined(ctx: ScenarioContext): Promise<void> {
  const n = ctx.scale.pipeTxns;
  const depth = ctx.scale.pipeDepth;
  const c = await RpcClient.connect(ctx.server.endpoint);
  try {
    ctx.record(
      await measurePhase(ctx.server, `pipe${depth}`, async () => {
        const lat = new SampleList();
        let next = 0;
        const t0 = performance.now();
        // `depth` independent chains, each sending its next transaction when the previous one is answered.
        const chain = async (): Promise<void> => {
          while (next < n) {
            const i = next++;
            const s = performance.now();
            await c.transact(NB_DB, [insertSwitch(`pipe-${i}`)]);
            lat.push(performance.now() - s);
          }
        };
        await Promise.all(Array.from({ length: depth }, chain));
        return { metrics: latencyMetrics(n, performance.now() - t0, lat.toArray()) };
      }),
    );
  } finally {
    await c.close();
  }
}

async function multiClient(ctx: ScenarioContext, phase = `clients${ctx.scale.multiClients}`): Promise<void> {
  const clients = ctx.scale.multiClients;
  const perClient = Math.ceil(ctx.scale.multiTxns / clients);
  const w = ctx.pool.size;
  const specs: (TaskSpec | null)[] = Array.from({ length: w }, (_, i) => {
    const share = Math.floor(clients / w) + (i < clients % w ? 1 : 0);
    return share === 0
      ? null
      : { type: 'txn', taskId: 0, endpoint: ctx.server.endpoint, db: NB_DB, clients: share, txnsPerClient: perClient, prefix: `${phase}-${i}` };
  });
  const task = ctx.pool.run(specs);
  try {
    await task.ready;
    ctx.record(
      await measurePhase(ctx.server, phase, async () => {
        const t0 = performance.now();
        task.go();
        const done = await task.done;
        const wall = performance.now() - t0;
        const lat = new SampleList();
        for (const d of done) lat.pushAll(d.latencies);
        return { metrics: latencyMetrics(lat.length, wall, lat.toArray()), workerElu: done.map((d) => d.elu) };
      }),
    );
  } finally {
    task.abort();
  }
}

export const txnScenario: Scenario = {
  id: 'txn',
  title: '1-row transactions: sequential, pipelined, many clients',
  async run(ctx) {
    await sequential(ctx);
    await pipelined(ctx);
    await multiClient(ctx);
    // The same two phases again on the now warm server (JIT-compiled, after the transactions above): the
    // phases above start on a fresh process, which for ovsdb-ts includes V8's warm-up.
    await sequential(ctx, 'seq1-warm');
    await multiClient(ctx, `clients${ctx.scale.multiClients}-warm`);
  },
};
