// kill -9 the leader of a mixed 3-member cluster (C, ours, C) under a continuous writer, 30 rounds (the rule and
// the round are described in cluster-kill9.ts): no acknowledged write lost or duplicated.
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterLab } from '../interop/lib/cluster.ts';
import { killLeaderRounds } from './cluster-kill9.ts';

const ROUNDS = Number(process.env.CLUSTER_KILL_ROUNDS ?? 30);
let lab: ClusterLab | null = null;
afterEach(async () => {
  await lab?.cleanup();
  lab = null;
});

describe('Raft leader kill -9 under load', () => {
  it(`mixed C/ours/C: ${ROUNDS} rounds`, { timeout: 600_000 }, async () => {
    lab = new ClusterLab();
    const r = await killLeaderRounds(lab, ["c", "ours", "c"], ROUNDS);
    expect(r.killed.ours + r.killed.c).toBe(ROUNDS);
    expect(r.killed.ours).toBeGreaterThan(0); // the succession is steered both ways
    expect(r.killed.c).toBeGreaterThan(0);
    expect(r.acked).toBeGreaterThanOrEqual(ROUNDS * 30);
  });
});
