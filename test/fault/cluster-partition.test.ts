// A member cut off from the other two by stream proxies on every Raft link (test/interop/lib/link-proxy.ts:
// relative `unix:` addresses, one OVS_RUNDIR per member, a black-hole proxy per directed link), under a
// continuous writer on the other members, then healed.
//
// - A cut-off follower misses the writes the majority commits meanwhile (its own contents stay behind, it
//   turns candidate: no pre-vote in 3.1) and catches up after the heal.
// - A cut-off leader loses leadership; the majority elects another and goes on; a write sent to the old
//   leader during the cut is not acknowledged then, and is after the heal (the server executes it again
//   once it knows the new leader); the old leader's uncommitted entry is dropped. Until then it runs no
//   transaction at all, reads included (its log holds a data entry it has not applied).
// In every case afterwards: one leader, identical dumps, every acknowledged write exactly once, the files
// pass `ovsdb-tool check-cluster`. All-ours and mixed clusters, either side cut off.
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { JsonRpcClient } from '../../server/jsonrpc.ts';
import { auditWrites, ClusterLab, sleep, waitConverged, waitFor, waitStable, Writer, type Impl, type Member } from '../interop/lib/cluster.ts';
import { LinkProxies } from '../interop/lib/link-proxy.ts';

let lab: ClusterLab | null = null;
let proxies: LinkProxies | null = null;
afterEach(async () => {
  await proxies?.close();
  await lab?.cleanup();
  lab = proxies = null;
});

interface Case {
  impls: [Impl, Impl, Impl];
  /** Which member is cut off: the (bootstrap) leader, or a follower of this kind. */
  cut: 'leader' | Impl;
}

const CASES: Case[] = [
  { impls: ['ours', 'ours', 'ours'], cut: 'ours' },
  { impls: ['ours', 'ours', 'ours'], cut: 'leader' },
  { impls: ['c', 'ours', 'c'], cut: 'ours' }, // an ours follower of a C leader
  { impls: ['ours', 'c', 'ours'], cut: 'c' }, // a C follower of an ours leader
  { impls: ['ours', 'c', 'c'], cut: 'leader' }, // an ours leader cut off from two C members
  { impls: ['c', 'ours', 'ours'], cut: 'leader' }, // a C leader cut off from two ours members
];

/** `p`, or an error with every member's diagnostics after 30 s. */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void Promise.all(lab!.members.map((m) => m.diag(30))).then((d) => reject(new Error(`no ${what} in 30 s\n${d.join('\n')}`)));
    }, 30_000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function names(m: Member): Promise<Set<string>> {
  return new Set((await m.select('T', ['name'])).map((r) => r.name as string));
}

describe('a member cut off by link proxies, then healed', () => {
  for (const c of CASES) {
    const what = c.cut === 'leader' ? `the ${c.impls[0]} leader` : `${c.cut === 'ours' ? 'an' : 'a'} ${c.cut} follower`;
    it(`${c.impls.join('/')}: ${what} cut off and healed`, { timeout: 180_000 }, async () => {
      lab = new ClusterLab({ relative: 'per-member' });
      proxies = await LinkProxies.start(lab, ['s1', 's2', 's3']);
      await lab.build(c.impls);
      const { leader } = await waitStable(lab, { expectServers: 3 });
      expect(leader.name).toBe('s1');
      const victim = c.cut === 'leader' ? leader : lab.members.find((m) => m !== leader && m.impl === c.cut)!;
      const majority = lab.members.filter((m) => m !== victim);
      expect(proxies.of(victim.name).every((l) => l.forwarded > 0)).toBe(true); // Raft traffic goes through

      const writer = new Writer(lab, () => majority[Math.floor(Math.random() * majority.length)]);
      writer.start(2);
      await waitFor(() => writer.acked.size >= 20, 'writes before the cut');

      proxies.isolate(victim.name);
      const atCut = writer.acked.size;
      // A write sent to the cut-off member itself (it cannot commit while cut off).
      const direct = await JsonRpcClient.connect(victim.remote);
      let directReply: JsonValue | Error | null = null;
      const directWrite = direct.request('transact', ['Ex', { op: 'insert', table: 'T', row: { name: 'w-direct' } }]).then(
        (r) => (directReply = r),
        (e: Error) => (directReply = e),
      );

      // The majority goes on (a new leader if the leader was cut off); the victim falls behind.
      await waitFor(() => writer.acked.size >= atCut + 40, 'writes committed by the majority during the cut', 60_000);
      const { leader: during } = await waitStable(lab, { members: majority, expectServers: 3 });
      expect(during).not.toBe(victim);
      await waitFor(async () => {
        const s = await victim.status();
        return s.role === 'candidate' && s.status === 'disconnected from the cluster (election timeout)';
      }, `${victim.name} (${victim.impl}) to notice it is cut off`, 60_000);
      // Behind: its log ends before the majority's.
      expect((await victim.status()).log[1]).toBeLessThan((await during.status()).log[1]);
      expect((await names(during)).has('w-direct')).toBe(false);
      expect(directReply).toBeNull(); // no reply without a leader
      // A member whose log holds a data entry it has not applied (the cut-off leader's own uncommitted
      // one) runs no transaction, not even a read, until it has applied or dropped it (§3.3, as the
      // reference's prerequisite pre-check does).
      let readReply: JsonValue | Error | null = null;
      const reader = await JsonRpcClient.connect(victim.remote);
      const read = reader.request('transact', ['Ex', { op: 'select', table: 'T', where: [['name', '==', 'w-direct']], columns: ['name'] }]).then(
        (r) => (readReply = r),
        (e: Error) => (readReply = e),
      );
      if (c.cut === 'leader') {
        await sleep(500);
        expect(readReply).toBeNull();
      }

      proxies.heal();
      const atHeal = writer.acked.size;
      await waitFor(() => writer.acked.size >= atHeal + 20, 'writes after the heal', 60_000);
      await writer.stop();
      await within(directWrite, 'the reply to the write sent to the cut-off member');
      expect(directReply).toEqual([{ uuid: ['uuid', expect.any(String)] }]);
      direct.close();
      await within(read, 'the reply to the read sent to the cut-off member');
      expect(readReply).toEqual([{ rows: expect.any(Array) }]);
      reader.close();
      writer.acked.add('w-direct');
      writer.attempted.add('w-direct');

      await waitStable(lab, { expectServers: 3 });
      await waitConverged(lab);
      const audit = await auditWrites(lab.member('s1'), writer);
      console.log(`${c.impls.join('/')}, ${what} cut off: ${writer.acked.size} acknowledged (${atHeal - atCut} during the cut), lost ${audit.lost.length}, duplicated ${audit.duplicated.length}`);
      expect({ lost: audit.lost, dup: audit.ackedDuplicated, invented: audit.invented }).toEqual({ lost: [], dup: [], invented: [] });
      expect((await names(victim)).has('w-direct')).toBe(true);
      const check = await lab.checkCluster();
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });
    });
  }
});


describe('a follower catching up after a cut applies the missed entries before anything runs against them', () => {
  // A transaction waiting on the follower (`wait` until n == 1, then n += 10) while it is cut off; the
  // majority commits n = 1, then n = 2. Healed, the follower gets both entries in one append. The waiting
  // transaction must run against the state after both (n == 2: it goes on waiting), as in the reference:
  // run between them, against n == 1, it would propose n = 11 and lose the update to 2 if that proposal's
  // prerequisite named the later entry.
  for (const impls of [['c', 'ours', 'c'], ['ours', 'c', 'ours']] as [Impl, Impl, Impl][]) {
    it(`${impls.join('/')}: the ${impls[1]} follower's waiting transaction sees the final state`, { timeout: 120_000 }, async () => {
      lab = new ClusterLab({ relative: 'per-member' });
      proxies = await LinkProxies.start(lab, ['s1', 's2', 's3']);
      const [leader, follower] = await lab.build(impls);
      await waitStable(lab, { expectServers: 3 });
      await leader!.transact({ op: 'insert', table: 'T', row: { name: 'R', n: 0 } });
      await waitConverged(lab);

      const c = await JsonRpcClient.connect(follower!.remote);
      let reply: JsonValue | Error | null = null;
      void c
        .request('transact', [
          'Ex',
          { op: 'wait', table: 'T', where: [['name', '==', 'R']], columns: ['n'], until: '==', rows: [{ n: 1 }] },
          { op: 'mutate', table: 'T', where: [['name', '==', 'R']], mutations: [['n', '+=', 10]] },
        ])
        .then(
          (r) => (reply = r),
          (e: Error) => (reply = e),
        );
      proxies.isolate(follower!.name);
      await leader!.transact({ op: 'update', table: 'T', where: [['name', '==', 'R']], row: { n: 1 } });
      await leader!.transact({ op: 'update', table: 'T', where: [['name', '==', 'R']], row: { n: 2 } });
      expect((await follower!.select('T', ['n']))[0]).toEqual({ n: 0 });
      proxies.heal();
      await waitStable(lab, { expectServers: 3 });
      await waitConverged(lab);
      for (const m of lab.members) expect({ m: m.name, rows: await m.select('T', ['n']) }).toEqual({ m: m.name, rows: [{ n: 2 }] });
      expect(reply).toBeNull(); // still waiting for n == 1
      c.close();
    });
  }
});
