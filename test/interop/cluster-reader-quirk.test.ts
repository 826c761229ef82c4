// The 3.1.0 file-transaction reader quirk in mixed clusters (raft.md §7.2 item 3, R13): a column
// {"key":"integer","min":1,"max":2} on a row that holds its default ({0}), mutated with
// `+= 9223372036854775807`. Every member applies committed entries with the 3.1.0 reader, which replaces a
// default-valued column by the diff instead of applying it: an entry carrying the diff {0, MAX} reads back as
// ["set",[0,MAX]] on every member, C and ours. The member that executes the transaction writes the entry:
// the C server writes that diff; ours writes the commit without a diff when a diff would be misread, so its
// entries read back as MAX everywhere, C members included.
//
// Cases: a C leader and a cluster led by ours; each with the mutation executed on the leader, on a C follower
// (forwarded) and on an ours follower (forwarded). The value is read on every member, again after every
// member has been restarted (the file replay applies the same reader), and `ovsdb-tool check-cluster` accepts
// the files.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterLab, waitConverged, waitStable, type Impl, type Member } from './lib/cluster.ts';

const MAX = '9223372036854775807';
const WRONG = `["set",[0,${MAX}]]`; // what every 3.1.0 member reads from a C-written entry
const RIGHT = MAX;

let lab: ClusterLab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

/** The raw JSON text of `small` for the row `name`, as ovsdb-client prints it (no float rounding). */
async function small(m: Member, name: string): Promise<string> {
  const r = await m.client('transact', m.remote, JSON.stringify(['Ex', { op: 'select', table: 'T', where: [['name', '==', name]], columns: ['small'] }]));
  expect(r.code).toBe(0);
  const match = /^\[\{"rows":\[\{"small":(.*)\}\]\}\]\n$/.exec(r.stdout);
  if (!match) throw new Error(`${m.name}: unexpected select output ${r.stdout}`);
  return match[1]!;
}

async function valuesEverywhere(names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of lab!.running) for (const n of names) out[`${n} on ${m.name} (${m.impl})`] = await small(m, n);
  return out;
}

describe.each<{ leader: Impl; impls: [Impl, Impl, Impl] }>([
  { leader: 'c', impls: ['c', 'ours', 'c'] },
  { leader: 'ours', impls: ['ours', 'c', 'ours'] },
])('R13 with a $leader leader', ({ leader: leaderImpl, impls }) => {
  it('every member holds the value the writing member\'s entry reads back as', { timeout: 120_000 }, async () => {
    lab = new ClusterLab();
    const members = await lab.build(impls);
    const { leader } = await waitStable(lab);
    expect(leader.impl).toBe(leaderImpl);
    const cFollower = members.find((m) => m !== leader && m.impl === 'c')!;
    const oursFollower = members.find((m) => m !== leader && m.impl === 'ours')!;
    const writers = [leader, cFollower, oursFollower];

    // Rows holding the default {0} in `small`, then one mutation executed on each writing member.
    const rows = writers.map((w) => `by-${w.name}-${w.impl}`);
    await leader.transact(...rows.map((name) => ({ op: 'insert', table: 'T', row: { name } })));
    await waitConverged(lab);
    const all = (v: (row: string) => string) => Object.fromEntries(lab!.running.flatMap((m) => rows.map((n) => [`${n} on ${m.name} (${m.impl})`, v(n)])));
    expect(await valuesEverywhere(rows)).toEqual(all(() => '0'));
    for (const [i, w] of writers.entries()) {
      const out = await w.transactText(`["Ex",{"op":"mutate","table":"T","where":[["name","==","${rows[i]}"]],"mutations":[["small","+=",${MAX}]]}]`);
      expect(out).toBe('[{"count":1}]\n');
    }
    // The entry's writer decides: C's diff reads back wrong on every member, ours' full value right.
    const expected = all((n) => (n.endsWith('-c') ? WRONG : RIGHT));
    await waitConverged(lab);
    expect(await valuesEverywhere(rows)).toEqual(expected);

    // Restarted (kill -9), every member replays its file with the same reader: nothing changes.
    for (const m of members) {
      await m.kill9();
      await m.start();
      await waitStable(lab);
    }
    await waitConverged(lab);
    expect(await valuesEverywhere(rows)).toEqual(expected);
    const check = await lab.checkCluster();
    expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
