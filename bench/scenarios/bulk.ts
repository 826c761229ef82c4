// Large data: one huge transaction; a 100k-row load in 1000-row transactions, then initial dumps of it
// (monitor, monitor_cond, select), memory, and the time to restart on that database.
import { performance } from 'node:perf_hooks';
import { RpcClient } from '../lib/jsonrpc.ts';
import { NB_DB, switchWithPorts } from '../lib/ovn.ts';
import { measurePhase, metric, type Scenario, type ScenarioContext } from '../lib/phase.ts';
import type { JsonValue } from '../../schema/json.ts';

const MB = 1024 * 1024;

export const bigTxnScenario: Scenario = {
  id: 'bigtxn',
  title: 'one transaction inserting many Logical_Switch_Port rows',
  async run(ctx) {
    const rows = ctx.scale.bigTxnRows;
    const ops = switchWithPorts('big', 0, rows);
    const c = await RpcClient.connect(ctx.server.endpoint);
    try {
      ctx.record(
        await measurePhase(ctx.server, `bigtxn${rows / 1000}k`, async () => {
          const t0 = performance.now();
          await c.transact(NB_DB, ops);
          return { metrics: { time_s: metric((performance.now() - t0) / 1000, 's', 'lower') } };
        }),
      );
    } finally {
      await c.close();
    }
  },
};

function countDump(method: string, text: string): number {
  const reply = JSON.parse(text) as { result?: unknown; error?: unknown };
  if (reply.error !== undefined && reply.error !== null) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
  const r = reply.result;
  if (method === 'transact') {
    const first = Array.isArray(r) ? (r[0] as { rows?: unknown[] }) : undefined;
    return first?.rows?.length ?? -1;
  }
  const table = (r as { Logical_Switch_Port?: Record<string, unknown> } | null)?.Logical_Switch_Port;
  return table ? Object.keys(table).length : 0;
}

/** Times one initial dump on a fresh connection, up to the last byte of the reply; validates the row count. */
async function dump(ctx: ScenarioContext, phase: string, method: string, params: JsonValue[], rows: number): Promise<void> {
  const c = await RpcClient.connect(ctx.server.endpoint);
  try {
    let text = '';
    const result = await measurePhase(ctx.server, phase, async () => {
      const t0 = performance.now();
      text = await c.requestRaw(method, params);
      const ms = performance.now() - t0;
      return {
        metrics: {
          time_s: metric(ms / 1000, 's', 'lower'),
          reply_mb: metric(text.length / MB, 'MB', 'info'),
        },
      };
    });
    const got = countDump(method, text);
    if (got !== rows) throw new Error(`${phase}: expected ${rows} rows, got ${got}`);
    ctx.record(result);
  } finally {
    await c.close();
  }
}

export const db100kScenario: Scenario = {
  id: 'db100k',
  title: 'bulk load in 1000-row transactions, initial dumps, RSS, restart',
  async run(ctx) {
    const { bulkRows, bulkBatch } = ctx.scale;
    const k = `${bulkRows / 1000}k`;
    const rssEmpty = ctx.server.rssBytes();
    const c = await RpcClient.connect(ctx.server.endpoint);
    try {
      ctx.record(
        await measurePhase(ctx.server, `load${k}`, async () => {
          const t0 = performance.now();
          for (let first = 0, sw = 0; first < bulkRows; first += bulkBatch, sw++) {
            await c.transact(NB_DB, switchWithPorts(`bulk-${sw}`, first, Math.min(bulkBatch, bulkRows - first)));
          }
          const s = (performance.now() - t0) / 1000;
          return {
            metrics: {
              time_s: metric(s, 's', 'lower'),
              rows_per_s: metric(bulkRows / s, 'rows/s', 'higher'),
              rss_empty_mb: metric(rssEmpty / MB, 'MB', 'lower'),
              rss_loaded_mb: metric(ctx.server.rssBytes() / MB, 'MB', 'lower'),
            },
          };
        }),
      );
    } finally {
      await c.close();
    }

    const lsp = 'Logical_Switch_Port';
    await dump(ctx, `dump${k}-monitor`, 'monitor', [NB_DB, 'dump', { [lsp]: {} }], bulkRows);
    await dump(ctx, `dump${k}-monitor_cond`, 'monitor_cond', [NB_DB, 'dump', { [lsp]: [{}] }], bulkRows);
    await dump(ctx, `dump${k}-select`, 'transact', [NB_DB, { op: 'select', table: lsp, where: [] }], bulkRows);

    // Restart: stop, start on the same file, time until list_dbs answers. CPU is that of the new process.
    await ctx.server.stop();
    let restartMs = 0;
    ctx.record(
      await measurePhase(ctx.server, `restart${k}`, async () => {
        restartMs = await ctx.server.start();
        return {
          metrics: {
            time_s: metric(restartMs / 1000, 's', 'lower'),
            rss_after_restart_mb: metric(ctx.server.rssBytes() / MB, 'MB', 'lower'),
          },
        };
      }),
    );
    // The reloaded database must still hold the rows.
    const v = await RpcClient.connect(ctx.server.endpoint);
    try {
      const r = await v.transact(NB_DB, [{ op: 'select', table: lsp, where: [['name', '==', 'lsp-0']], columns: ['name'] }]);
      const rows = (r[0] as { rows?: unknown[] }).rows;
      if (rows?.length !== 1) throw new Error(`after restart: lsp-0 not found (${JSON.stringify(r)})`);
    } finally {
      await v.close();
    }
  },
};
