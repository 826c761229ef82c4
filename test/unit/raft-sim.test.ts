// The Raft simulator (test/raft-sim/cluster.ts): many seeded random schedules of a cluster of RaftCores under
// loss, duplication, reordering, partitions, crashes with torn tails, clock skew, membership changes and
// failure tests, each checked for Raft's safety properties and for liveness once healed.
//
//   RAFT_SIM_SEEDS=N     number of schedules (default 10000; use e.g. 300 for a quick local run)
//   RAFT_SIM_BASE=B      first seed (default 1; "random" picks one and prints it)
//   RAFT_SIM_SEED=S      replay exactly one schedule
import { describe, expect, it } from 'vitest';
import { addStats, emptyStats, runSchedule, type SimResult } from '../raft-sim/cluster.ts';

const one = process.env.RAFT_SIM_SEED;
const count = one !== undefined ? 1 : Number(process.env.RAFT_SIM_SEEDS ?? 10_000);
const baseEnv = process.env.RAFT_SIM_BASE;
const base = one !== undefined ? Number(one) : baseEnv === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(baseEnv ?? 1);

describe('raft simulator', () => {
  it(`${count} random schedules keep Raft's safety properties and make progress once healed`, () => {
    const started = performance.now();
    const total = emptyStats();
    const failures: SimResult[] = [];
    for (let i = 0; i < count; i++) {
      const r = runSchedule(base + i);
      addStats(total, r.stats);
      if (!r.ok) failures.push(r);
    }
    const ms = Math.round(performance.now() - started);
    console.log(`raft-sim: ${count} schedules from seed ${base} in ${ms} ms; ${JSON.stringify(total)}`);
    for (const f of failures.slice(0, 5)) {
      console.log(`raft-sim: seed ${f.seed} FAILED: ${f.error}\n  replay: RAFT_SIM_SEED=${f.seed} npx vitest run test/unit/raft-sim.test.ts`);
    }
    expect(failures.map((f) => `seed ${f.seed}: ${f.error}`)).toEqual([]);
    if (count >= 1000) {
      // The schedules must actually exercise the interesting paths.
      expect(total.snapshotsInstalled).toBeGreaterThan(0);
      expect(total.joins).toBeGreaterThan(0);
      expect(total.leaves).toBeGreaterThan(0);
      expect(total.truncations).toBeGreaterThan(0);
      expect(total.transfers).toBeGreaterThan(0);
      expect(total.timerChanges).toBeGreaterThan(0);
      expect(total.failureCrashes).toBeGreaterThan(0);
      expect(total.acked).toBeGreaterThan(count);
    }
  }, 600_000);
});
