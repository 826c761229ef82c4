// Monitor fan-out: many subscribers (spread over generator workers) watch Logical_Switch while one writer
// commits 1-row inserts one after another. Each row carries its commit-send time, so every subscriber measures
// the delivery latency of every row; the phase ends when the last subscriber has seen the last row.
import { performance } from 'node:perf_hooks';
import { RpcClient } from '../lib/jsonrpc.ts';
import { NB_DB, insertSwitch } from '../lib/ovn.ts';
import { measurePhase, metric, type Scenario, type ScenarioContext } from '../lib/phase.ts';
import { nowAbs } from '../lib/clock.ts';
import { SampleList, percentiles } from '../lib/stats.ts';
import type { TaskSpec } from '../lib/protocol.ts';

async function fanout(ctx: ScenarioContext, method: 'monitor' | 'monitor_cond'): Promise<void> {
  const { fanClients, fanUpdates } = ctx.scale;
  const prefix = `fan-${method}-`;
  const w = ctx.pool.size;
  const specs: (TaskSpec | null)[] = Array.from({ length: w }, (_, i) => {
    const share = Math.floor(fanClients / w) + (i < fanClients % w ? 1 : 0);
    return share === 0
      ? null
      : { type: 'subscribe', taskId: 0, endpoint: ctx.server.endpoint, db: NB_DB, clients: share, method, expected: fanUpdates, prefix };
  });
  const writer = await RpcClient.connect(ctx.server.endpoint);
  const task = ctx.pool.run(specs);
  try {
    await task.ready;
    ctx.record(
      await measurePhase(ctx.server, `fanout-${method}`, async () => {
        task.go();
        const startAbs = nowAbs();
        const t0 = performance.now();
        for (let i = 0; i < fanUpdates; i++) {
          await writer.transact(NB_DB, [insertSwitch(`${prefix}${i}`, nowAbs())]);
        }
        const writeS = (performance.now() - t0) / 1000;
        const done = await task.done;
        const lastAbs = Math.max(...done.map((d) => d.lastAbs));
        const lat = new SampleList();
        for (const d of done) lat.pushAll(d.latencies);
        const expected = fanClients * fanUpdates;
        if (lat.length !== expected) throw new Error(`fanout: ${lat.length} deliveries, expected ${expected}`);
        const [p50, p99] = percentiles(lat.toArray(), [50, 99]);
        return {
          metrics: {
            time_s: metric((lastAbs - startAbs) / 1000, 's', 'lower'),
            p50_ms: metric(p50!, 'ms', 'lower'),
            p99_ms: metric(p99!, 'ms', 'lower'),
            writes_per_s: metric(fanUpdates / writeS, 'txn/s', 'higher'),
          },
          workerElu: done.map((d) => d.elu),
        };
      }),
    );
  } finally {
    task.abort();
    await writer.close();
  }
}

export const fanoutMonitorScenario: Scenario = {
  id: 'fanout-monitor',
  title: 'monitor fan-out (monitor, update)',
  run: (ctx) => fanout(ctx, 'monitor'),
};

export const fanoutMonitorCondScenario: Scenario = {
  id: 'fanout-monitor_cond',
  title: 'monitor fan-out (monitor_cond, update2)',
  run: (ctx) => fanout(ctx, 'monitor_cond'),
};
