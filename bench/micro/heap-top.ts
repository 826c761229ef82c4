// `npx tsx bench/micro/heap-top.ts FILE.heapsnapshot [N]`: what holds memory in a V8 heap snapshot (from
// bench/memory.ts with OVSDB_TS_MEMORY_SNAPSHOTS=DIR, or `node --heapsnapshot-signal`). Prints self size per
// node type and constructor name, then the N largest objects with one retainer chain each (the first strong
// retainer at each step, up to a GC root or 12 steps).
import fs from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
    node_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: heap-top.ts FILE.heapsnapshot [N]\n');
  process.exit(2);
}
const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const count = nodes.length / NF;

// Reverse edges: for each node, its first strong retainer (node index, edge label).
const retainer = new Int32Array(count).fill(-1);
const retainerEdge = new Int32Array(count).fill(-1);
for (let i = 0, e = 0; i < count; i++) {
  const n = nodes[i * NF + nEdges]!;
  for (let k = 0; k < n; k++, e += EF) {
    const to = nodes[0] === undefined ? 0 : edges[e + eTo]! / NF;
    const t = edgeTypes[edges[e + eType]!];
    if (t === 'weak' || t === 'shortcut') continue;
    if (retainer[to] === -1) {
      retainer[to] = i;
      retainerEdge[to] = e;
    }
  }
}

const typeOf = (i: number) => nodeTypes[nodes[i * NF + nType]!]!;
const nameOf = (i: number) => strings[nodes[i * NF + nName]!]!;
const sizeOf = (i: number) => nodes[i * NF + nSize]!;
const label = (i: number) => {
  const t = typeOf(i);
  const name = nameOf(i);
  return t === 'string' || t === 'concatenated string' || t === 'sliced string' ? `${t}(${name.length} chars)` : `${t} ${name.slice(0, 60)}`;
};
const edgeLabel = (e: number) => {
  const t = edgeTypes[edges[e + eType]!];
  const v = edges[e + eName]!;
  return t === 'element' || t === 'hidden' ? `[${v}]` : `.${strings[v]}`;
};

const byKind = new Map<string, { size: number; n: number }>();
for (let i = 0; i < count; i++) {
  const t = typeOf(i);
  const key = t === 'object' || t === 'closure' ? `${t} ${nameOf(i)}` : t;
  const s = byKind.get(key) ?? { size: 0, n: 0 };
  s.size += sizeOf(i);
  s.n++;
  byKind.set(key, s);
}
const MiB = 1024 * 1024;
let total = 0;
for (const s of byKind.values()) total += s.size;
process.stdout.write(`${file}: ${count} nodes, ${(total / MiB).toFixed(1)} MiB self size\n\nby kind:\n`);
for (const [k, s] of [...byKind].sort((a, b) => b[1].size - a[1].size).slice(0, 25)) {
  process.stdout.write(`  ${(s.size / MiB).toFixed(2).padStart(8)} MiB ${String(s.n).padStart(8)}  ${k}\n`);
}

const top = Number(nArg ?? 15);
const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => sizeOf(b) - sizeOf(a)).slice(0, top);
process.stdout.write(`\nlargest objects:\n`);
for (const i of order) {
  const chain: string[] = [];
  let at = i;
  for (let step = 0; step < 12 && retainer[at] !== -1; step++) {
    const r = retainer[at]!;
    chain.push(`${edgeLabel(retainerEdge[at]!)} of ${label(r)}`);
    at = r;
  }
  process.stdout.write(`  ${(sizeOf(i) / MiB).toFixed(2).padStart(8)} MiB ${label(i)}\n      ${chain.join('\n      ')}\n`);
}
