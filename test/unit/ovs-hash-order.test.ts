// OVS's member order (its hash tables' iteration order), checked against output of the real 3.1 programs.
import { describe, expect, it } from 'vitest';
import { ovsHashOrder, ovsMemberOrder, ovsStringHash } from '../../schema/ovs-hash-order.ts';
import { parseJson, stringifyHashed } from '../../schema/json.ts';

describe('ovsHashOrder', () => {
  it('orders a Raft header as ovsdb-tool create-cluster writes it (raft.md §1.10)', () => {
    const inserted = ['server_id', 'cluster_id', 'local_address', 'name', 'prev_servers', 'prev_index', 'prev_term', 'prev_data', 'prev_eid'];
    expect(ovsHashOrder(inserted)).toEqual(['prev_eid', 'cluster_id', 'name', 'prev_term', 'prev_data', 'prev_servers', 'server_id', 'prev_index', 'local_address']);
    // …and a compacted header with prev_election_timer (§1.7).
    expect(ovsHashOrder([...inserted, 'prev_election_timer'])).toEqual([
      'prev_eid', 'cluster_id', 'name', 'prev_term', 'prev_data', 'prev_election_timer', 'prev_servers', 'server_id', 'prev_index', 'local_address',
    ]);
  });

  it('orders records and RPC params as captured on the wire (raft.md §1.10, §2.6)', () => {
    expect(ovsHashOrder(['term', 'vote'])).toEqual(['vote', 'term']);
    expect(ovsHashOrder(['term', 'leader'])).toEqual(['leader', 'term']);
    expect(ovsHashOrder(['term', 'index', 'election_timer'])).toEqual(['election_timer', 'term', 'index']);
    expect(ovsHashOrder(['term', 'index', 'data', 'eid'])).toEqual(['eid', 'data', 'term', 'index']);
    expect(ovsHashOrder(['term', 'index', 'servers'])).toEqual(['servers', 'term', 'index']);
    expect(ovsHashOrder(['comment', 'note'])).toEqual(['comment', 'note']);
    expect(ovsHashOrder(['name', 'local_address', 'server_id', 'remote_addresses'])).toEqual(['name', 'remote_addresses', 'server_id', 'local_address']);
    expect(ovsMemberOrder(['cluster', 'to', 'from', 'comment', 'term', 'prev_log_index', 'prev_log_term', 'leader_commit', 'log'])).toEqual([
      'log', 'comment', 'prev_log_term', 'to', 'leader_commit', 'from', 'cluster', 'term', 'prev_log_index',
    ]);
    expect(ovsMemberOrder(['cluster', 'to', 'from', 'result', 'status', 'commit_index'])).toEqual(['from', 'commit_index', 'status', 'result', 'cluster', 'to']);
  });

  it('depends on insertion order for keys that share a bucket, and on a reserved size (set copies)', () => {
    // join-cluster: the arguments go into a set, which is copied (pre-sized) into the header.
    const set = ovsHashOrder(['tcp:127.0.0.1:3', 'tcp:127.0.0.1:1', 'unix:zz']);
    expect(ovsHashOrder(set, set.length)).toEqual(['tcp:127.0.0.1:1', 'unix:zz', 'tcp:127.0.0.1:3']);
    // The same keys inserted in two orders may iterate differently (a schema's name/tables/version).
    expect(ovsHashOrder(['name', 'tables', 'version'])).toEqual(['name', 'version', 'tables']);
    expect(ovsHashOrder(['name', 'version', 'cksum', 'tables'])).toEqual(['cksum', 'name', 'version', 'tables']);
  });

  it('hashes UTF-8 bytes with a partial last word', () => {
    expect(ovsStringHash('')).toBe(ovsStringHash(''));
    expect(ovsStringHash('abc')).not.toBe(ovsStringHash('abd'));
    expect(ovsStringHash('é')).not.toBe(ovsStringHash('e'));
  });

  it('stringifyHashed (json.ts) writes a parsed value as cluster-to-standalone copies it', () => {
    const v = parseJson('{"name":"Ex","tables":{"T":{"columns":{"e":{"type":"string"},"n":{"type":"integer"},"name":{"type":"string"}}}},"version":"1.0.0"}');
    expect(stringifyHashed(v)).toBe('{"name":"Ex","version":"1.0.0","tables":{"T":{"columns":{"name":{"type":"string"},"e":{"type":"string"},"n":{"type":"integer"}}}}}');
    expect(stringifyHashed(parseJson('{"T":{"ff7492b1-52c5-48ac-bb30-4771f223b127":{"n":1,"name":"one"}},"_comment":"first","_date":1796197055017,"_is_diff":true}'))).toBe(
      '{"_date":1796197055017,"_is_diff":true,"T":{"ff7492b1-52c5-48ac-bb30-4771f223b127":{"name":"one","n":1}},"_comment":"first"}',
    );
  });
});
