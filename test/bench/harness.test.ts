// The benchmark's own pieces: stream splitter, statistics, report output, and the client against the real server.
import { afterAll, describe, expect, it } from 'vitest';
import { JsonStreamSplitter, RpcClient } from '../../bench/lib/jsonrpc.ts';
import { percentiles, summarize } from '../../bench/lib/stats.ts';
import { fmt, summarizeRuns, toMarkdown, toSvg, type Report, type RunRecord } from '../../bench/lib/report.ts';
import { binaryAvailable, ServerHandle } from '../../bench/lib/server.ts';
import { NB_DB, insertSwitch, switchWithPorts } from '../../bench/lib/ovn.ts';
import type { PhaseResult } from '../../bench/lib/phase.ts';

function split(chunks: string[]): string[] {
  const s = new JsonStreamSplitter();
  const out: string[] = [];
  for (const c of chunks) s.push(Buffer.from(c), (t) => out.push(t));
  return out;
}

describe('JsonStreamSplitter', () => {
  it('splits concatenated messages and skips whitespace between them', () => {
    expect(split(['{"id":1,"result":[]}  \n{"id":2}[1,2]'])).toEqual(['{"id":1,"result":[]}', '{"id":2}', '[1,2]']);
  });

  it('ignores brackets and escaped quotes inside strings', () => {
    expect(split(['{"a":"}{\\"]","b":"\\\\"}{"c":1}'])).toEqual(['{"a":"}{\\"]","b":"\\\\"}', '{"c":1}']);
  });

  it('reassembles a message cut at every byte, including inside an escape and a UTF-8 sequence', () => {
    const msg = '{"s":"x\\"y","u":"é✓","n":[1,{"k":[]}]}';
    const bytes = Buffer.from(msg);
    const s = new JsonStreamSplitter();
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1), (t) => out.push(t));
    expect(out).toEqual([msg]);
    expect(s.pendingBytes).toBe(0);
  });

  it('handles backslash runs at any chunk boundary', () => {
    const msgs = ['{"a":"\\\\"}', '{"b":"x\\\\\\"y\\\\"}', '["\\\\\\\\",{"c":"]"}]'];
    const all = Buffer.from(msgs.join(''));
    for (const m of msgs) expect(() => JSON.parse(m)).not.toThrow();
    for (let cut = 0; cut <= all.length; cut++) {
      for (let cut2 = cut; cut2 <= all.length; cut2 += 3) {
        const s = new JsonStreamSplitter();
        const out: string[] = [];
        for (const part of [all.subarray(0, cut), all.subarray(cut, cut2), all.subarray(cut2)]) s.push(part, (t) => out.push(t));
        expect(out).toEqual(msgs);
      }
    }
  });

  it('rejects a top-level scalar', () => {
    expect(() => split(['"abc"'])).toThrow('top-level value is not an object or array');
    expect(() => split(['5 '])).toThrow('unexpected byte 0x35 between messages');
  });
});

describe('stats', () => {
  it('nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(xs, [50, 99, 100])).toEqual([50, 99, 100]);
    expect(percentiles([], [50])[0]).toBeNaN();
  });

  it('summary ignores non-finite values', () => {
    expect(summarize([3, Number.NaN, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(summarize([4, 1])).toEqual({ median: 2.5, min: 1, max: 4, n: 2 });
    expect(summarize([Number.NaN]).n).toBe(0);
  });
});

describe('report', () => {
  const phase = (v: number): PhaseResult => ({
    phase: 'seq1',
    wallMs: 1000,
    serverCpuMs: 500,
    genCpuMs: 100,
    genElu: 0.95,
    genBound: true,
    machineBound: false,
    metrics: { txn_per_s: { value: v, unit: 'txn/s', better: 'higher' } },
  });
  const run = (server: 'ref' | 'ours', rep: number, v: number): RunRecord => ({
    rep,
    scenario: 'txn',
    server,
    position: 0,
    ok: true,
    durationMs: 1,
    phases: [phase(v)],
  });

  it('computes medians, ranges and the ours/reference ratio; n/a without ours', () => {
    const { metrics, phases } = summarizeRuns([run('ref', 0, 100), run('ref', 1, 300), run('ref', 2, 200), run('ours', 0, 50)]);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]!.ref).toEqual({ median: 200, min: 100, max: 300, n: 3 });
    expect(metrics[0]!.ratio).toBe(0.25);
    expect(phases.map((p) => [p.server, p.genBoundReps, p.reps])).toEqual([
      ['ref', 3, 3],
      ['ours', 1, 1],
    ]);
    const none = summarizeRuns([run('ref', 0, 100)]);
    expect(none.metrics[0]!.ratio).toBeNaN();
  });

  it('renders markdown rows and an SVG bar per metric', () => {
    const { metrics, phases } = summarizeRuns([run('ref', 0, 100), run('ours', 0, 50)]);
    const rep: Report = {
      meta: {
        date: '2026-01-01T00:00:00.000Z',
        quick: true,
        reps: 1,
        transport: 'unix socket',
        generatorWorkers: 2,
        host: { cpus: 2, cpuModel: 'x', memGB: 1, node: '20', kernel: '6' },
        reference: { binary: '/usr/sbin/ovsdb-server', version: 'v' },
        ours: { binary: 'bin/ovsdb-server', status: 'v' },
        durationS: 1,
        loadAvg: { start: 0.5, end: 0.5 },
      },
      metrics,
      phases,
      errors: [],
      runs: [],
    };
    const md = toMarkdown(rep);
    expect(md).toContain('| seq1 | txn_per_s | txn/s | higher | 100 | 50.0 | 0.50× ✗ |');
    expect(md).toContain('| seq1 | reference | 1.00 | 0.500 |  | 0.100 | 0.950 | GEN 1/1 |');
    expect(md).toContain('| seq1 | ovsdb-ts | 1.00 | 0.500 | 1.00× | 0.100 | 0.950 | GEN 1/1 |');
    const svg = toSvg(rep);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('>0.50×</text>');
    expect(svg).toContain('fill="#d0453c"');
    expect(fmt(Number.NaN)).toBe('n/a');
  });
});

describe.runIf(binaryAvailable('/usr/sbin/ovsdb-server'))('RpcClient against the real ovsdb-server', () => {
  let server: ServerHandle | null = null;
  afterAll(async () => {
    await server?.dispose();
  });

  it('transacts, receives monitor updates, and reads a raw reply', async () => {
    server = await ServerHandle.prepare(
      { kind: 'ref', label: 'ovsdb-server', binary: '/usr/sbin/ovsdb-server' },
      { schemaPath: '/usr/share/ovn/ovn-nb.ovsschema', ovsdbTool: 'ovsdb-tool', tcp: false, startTimeoutMs: 10_000 },
    );
    await server.start();
    expect(server.rssBytes()).toBeGreaterThan(0);
    const c = await RpcClient.connect(server.endpoint);
    const updates: unknown[] = [];
    c.onNotification = (method, params) => updates.push([method, params[0]]);
    expect(await c.request('monitor_cond', [NB_DB, 'm', { Logical_Switch: [{ columns: ['name'] }] }])).toEqual({});
    await c.transact(NB_DB, [insertSwitch('a', 1)]);
    expect(updates).toEqual([['update2', 'm']]);
    await c.transact(NB_DB, switchWithPorts('b', 0, 3));
    const d = await RpcClient.connect(server.endpoint);
    const text = await d.requestRaw('transact', [NB_DB, { op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['name'] }]);
    const rows = (JSON.parse(text) as { result: { rows: { name: string }[] }[] }).result[0]!.rows.map((r) => r.name).sort();
    expect(rows).toEqual(['lsp-0', 'lsp-1', 'lsp-2']);
    await expect(c.transact(NB_DB, [{ op: 'insert', table: 'Nope', row: {} }])).rejects.toThrow('transact failed');
    await c.close();
    await d.close();
  });
});
