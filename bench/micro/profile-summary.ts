// Summarizes a V8 .cpuprofile (node --cpu-prof): top functions by self time and by inclusive time.
//
//   npx tsx bench/micro/profile-summary.ts FILE.cpuprofile [--top 40] [--filter substring]
//
// Inclusive time counts a function once per sample even when it recurses.
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile');
const top = Number(arg('--top', '40'));
const filter = arg('--filter', '');

const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of prof.nodes) byId.set(n.id, n);
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const short = f.url.replace(/^.*\/(node_modules\/)?/, '');
  return `${f.functionName || '(anon)'} ${short}:${f.lineNumber + 1}`;
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  let node = byId.get(prof.samples[i]!);
  if (!node) continue;
  const l = label(node);
  if (node.callFrame.functionName === '(idle)') continue;
  total += dt;
  self.set(l, (self.get(l) ?? 0) + dt);
  const seen = new Set<string>();
  for (;;) {
    const k = label(node);
    if (!seen.has(k)) {
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
    const p = parent.get(node.id);
    if (p === undefined) break;
    node = byId.get(p)!;
  }
}

const show = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (total non-idle ${(total / 1000).toFixed(0)} ms)`);
  const rows = [...m].filter(([k]) => k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, v] of rows) console.log(`${(v / 1000).toFixed(1).padStart(9)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show('self', self);
show('inclusive', incl);
