// Turns the raw runs into the summary (median, min–max, ours/reference ratio), the markdown table and the
// ratio chart (hand-written SVG, no plotting dependency).
import type { Better, PhaseResult } from './phase.ts';
import type { ServerKind } from './server.ts';
import { summarize, type Summary } from './stats.ts';

export interface RunRecord {
  rep: number;
  scenario: string;
  server: ServerKind;
  /** 0 = ran first in this repetition, 1 = second. */
  position: number;
  ok: boolean;
  /** Why the run failed or was skipped ("n/a" for ours when its binary is missing). */
  error?: string;
  startupMs?: number;
  durationMs: number;
  phases: PhaseResult[];
}

export interface MetricRow {
  phase: string;
  metric: string;
  unit: string;
  better: Better;
  ref: Summary;
  ours: Summary;
  /** median(ours) / median(ref); NaN when either is missing. */
  ratio: number;
}

export interface PhaseRow {
  phase: string;
  server: ServerKind;
  reps: number;
  wallS: Summary;
  serverCpuS: Summary;
  genCpuS: Summary;
  genEluMax: number;
  genBoundReps: number;
  machineBoundReps: number;
}

export interface Meta {
  date: string;
  quick: boolean;
  reps: number;
  transport: string;
  generatorWorkers: number;
  host: { cpus: number; cpuModel: string; memGB: number; node: string; kernel: string };
  reference: { binary: string; version: string };
  ours: { binary: string; status: string };
  durationS: number;
  /** 1-minute load average at start and end; above the CPU count the numbers are noisy. */
  loadAvg: { start: number; end: number };
}

export interface Report {
  meta: Meta;
  metrics: MetricRow[];
  phases: PhaseRow[];
  errors: string[];
  runs: RunRecord[];
}

export function summarizeRuns(runs: RunRecord[]): { metrics: MetricRow[]; phases: PhaseRow[] } {
  // Keep the order in which phases and metrics first appear.
  const metricKeys: { phase: string; metric: string; unit: string; better: Better }[] = [];
  const seen = new Set<string>();
  const phaseNames: string[] = [];
  for (const r of runs) {
    for (const p of r.phases) {
      if (!phaseNames.includes(p.phase)) phaseNames.push(p.phase);
      for (const [name, m] of Object.entries(p.metrics)) {
        const key = `${p.phase}\u0000${name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        metricKeys.push({ phase: p.phase, metric: name, unit: m.unit, better: m.better });
      }
    }
  }
  const values = (server: ServerKind, phase: string, name: string): number[] =>
    runs
      .filter((r) => r.server === server)
      .flatMap((r) => r.phases.filter((p) => p.phase === phase))
      .map((p) => p.metrics[name]?.value ?? Number.NaN);
  const metrics = metricKeys.map((k) => {
    const ref = summarize(values('ref', k.phase, k.metric));
    const ours = summarize(values('ours', k.phase, k.metric));
    return { ...k, ref, ours, ratio: ref.n > 0 && ours.n > 0 && ref.median !== 0 ? ours.median / ref.median : Number.NaN };
  });
  const phases: PhaseRow[] = [];
  for (const phase of phaseNames) {
    for (const server of ['ref', 'ours'] as const) {
      const ps = runs.filter((r) => r.server === server).flatMap((r) => r.phases.filter((p) => p.phase === phase));
      if (ps.length === 0) continue;
      phases.push({
        phase,
        server,
        reps: ps.length,
        wallS: summarize(ps.map((p) => p.wallMs / 1000)),
        serverCpuS: summarize(ps.map((p) => p.serverCpuMs / 1000)),
        genCpuS: summarize(ps.map((p) => p.genCpuMs / 1000)),
        genEluMax: Math.max(...ps.map((p) => p.genElu)),
        genBoundReps: ps.filter((p) => p.genBound).length,
        machineBoundReps: ps.filter((p) => p.machineBound).length,
      });
    }
  }
  return { metrics, phases };
}

/** Three significant digits, without exponent notation for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toString();
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

function cell(s: Summary): string {
  if (s.n === 0) return 'n/a';
  return s.n === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

function ratioCell(m: MetricRow): string {
  if (!Number.isFinite(m.ratio)) return 'n/a';
  if (m.better === 'info') return `${m.ratio.toFixed(2)}×`;
  const good = m.better === 'lower' ? m.ratio <= 1 : m.ratio >= 1;
  return `${m.ratio.toFixed(2)}× ${good ? '✓' : '✗'}`;
}

export function toMarkdown(rep: Report): string {
  const m = rep.meta;
  const out: string[] = [];
  out.push(`# ovsdb-ts vs ovsdb-server benchmark${m.quick ? ' (quick)' : ''}`, '');
  out.push(`- date: ${m.date}; total runtime ${m.durationS.toFixed(0)} s`);
  out.push(`- host: ${m.host.cpus} CPUs (${m.host.cpuModel}), ${m.host.memGB} GB, Linux ${m.host.kernel}, Node ${m.host.node}`);
  out.push(`- reference: \`${m.reference.binary}\` (${m.reference.version}); ours: \`${m.ours.binary}\` (${m.ours.status})`);
  out.push(`- ${m.reps} repetitions, order alternating per repetition; transport ${m.transport}; ${m.generatorWorkers} generator worker threads`);
  const busy = Math.max(m.loadAvg.start, m.loadAvg.end) > m.host.cpus;
  out.push(`- load average ${m.loadAvg.start.toFixed(1)} at start, ${m.loadAvg.end.toFixed(1)} at end${busy ? ' — **machine busy, expect noise**' : ''}`);
  out.push(`- cells: median (min–max); ratio = ours / reference median; ✓ = ours at least as good`, '');
  out.push('| phase | metric | unit | better | reference | ovsdb-ts | ours/ref |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of rep.metrics) {
    out.push(`| ${r.phase} | ${r.metric} | ${r.unit} | ${r.better} | ${cell(r.ref)} | ${cell(r.ours)} | ${ratioCell(r)} |`);
  }
  out.push('', '## CPU per phase', '');
  out.push('Server CPU is utime+stime from /proc/<pid>/stat (process tree). Generator CPU is the whole benchmark');
  out.push('process. ELU = highest event-loop utilization of a generator thread; **GEN** = a generator thread was');
  out.push('≥ 90% busy (the generator, not the server, limited the phase); **MACHINE** = server + generator used');
  out.push('≥ 90% of all cores.', '');
  out.push('| phase | server | wall s | server CPU s | server CPU ours/ref | generator CPU s | gen ELU | flags |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const p of rep.phases) {
    const ref = rep.phases.find((q) => q.phase === p.phase && q.server === 'ref');
    const cpuRatio =
      p.server === 'ours' && ref && ref.serverCpuS.median > 0 && p.serverCpuS.n > 0
        ? `${(p.serverCpuS.median / ref.serverCpuS.median).toFixed(2)}×`
        : '';
    const flags = [
      p.genBoundReps > 0 ? `GEN ${p.genBoundReps}/${p.reps}` : '',
      p.machineBoundReps > 0 ? `MACHINE ${p.machineBoundReps}/${p.reps}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    out.push(
      `| ${p.phase} | ${p.server === 'ref' ? 'reference' : 'ovsdb-ts'} | ${cell(p.wallS)} | ${cell(p.serverCpuS)} | ${cpuRatio} | ${cell(p.genCpuS)} | ${fmt(p.genEluMax)} | ${flags} |`,
    );
  }
  if (rep.errors.length > 0) {
    out.push('', '## Errors and n/a', '');
    for (const e of rep.errors) out.push(`- ${e.replace(/\|/g, '\\|')}`);
  }
  out.push('');
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Horizontal bars of ours/reference per metric on a log scale (0.01× … 100×), centred on 1×. Green when
 * ours is at least as good (lower-is-better below 1, higher-is-better above 1), red otherwise, grey n/a.
 */
export function toSvg(rep: Report): string {
  const rows = rep.metrics.filter((m) => m.better !== 'info');
  const rowH = 20;
  const labelW = 300;
  const plotW = 560;
  const top = 58;
  const width = labelW + plotW + 90;
  const height = top + rows.length * rowH + 40;
  const decades = 2;
  const x = (ratio: number) => {
    const l = Math.max(-decades, Math.min(decades, Math.log10(ratio)));
    return Math.round((labelW + ((l + decades) / (2 * decades)) * plotW) * 10) / 10;
  };
  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const title = `ovsdb-ts / ovsdb-server (median ratio${rep.meta.quick ? ', quick' : ''}, ${rep.meta.reps} reps, ${rep.meta.date.slice(0, 10)})`;
  s.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  s.push(`<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">green: ours at least as good · red: ours worse · log scale</text>`);
  for (let d = -decades; d <= decades; d++) {
    const gx = x(10 ** d);
    s.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + rows.length * rowH}" stroke="${d === 0 ? '#000' : '#ddd'}" stroke-width="${d === 0 ? 1.5 : 1}"/>`);
    s.push(`<text x="${gx}" y="${top + rows.length * rowH + 16}" text-anchor="middle" fill="#555">${10 ** d}×</text>`);
  }
  rows.forEach((m, i) => {
    const y = top + i * rowH;
    s.push(`<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(`${m.phase} ${m.metric}`)} (${m.better})</text>`);
    if (!Number.isFinite(m.ratio) || m.ratio <= 0) {
      s.push(`<text x="${x(1) + 6}" y="${y + 14}" fill="#999">n/a</text>`);
      return;
    }
    const good = m.better === 'lower' ? m.ratio <= 1 : m.ratio >= 1;
    const x0 = Math.min(x(1), x(m.ratio));
    const w = Math.max(1, Math.round(Math.abs(x(m.ratio) - x(1)) * 10) / 10);
    s.push(`<rect x="${x0}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="${good ? '#3a9d4a' : '#d0453c'}"/>`);
    const lx = m.ratio >= 1 ? x0 + w + 4 : x0 - 4;
    s.push(`<text x="${lx}" y="${y + 14}" text-anchor="${m.ratio >= 1 ? 'start' : 'end'}">${m.ratio.toFixed(2)}×</text>`);
  });
  s.push('</svg>', '');
  return s.join('\n');
}
