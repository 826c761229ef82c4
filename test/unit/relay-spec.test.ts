import { describe, expect, it } from 'vitest';
import { OvsdbError } from '../../schema/error.ts';
import { isRelaySpec, parseRelaySpec, parseRemoteList, shuffled } from '../../replication/relay-spec.ts';

describe('relay: database arguments', () => {
  it('splits the name from the remote list', () => {
    expect(parseRelaySpec('relay:OVN_Southbound:tcp:10.0.0.1:6642,tcp:10.0.0.2:6642')).toEqual({
      name: 'OVN_Southbound',
      remotes: ['tcp:10.0.0.1:6642', 'tcp:10.0.0.2:6642'],
      cid: null,
      text: 'relay:OVN_Southbound:tcp:10.0.0.1:6642,tcp:10.0.0.2:6642',
    });
    expect(isRelaySpec('relay:x:unix:/a')).toBe(true);
    expect(isRelaySpec('/var/lib/relay:x')).toBe(false);
  });

  it('rejects a name without a colon after it, with the reference text', () => {
    for (const arg of ['relay:Bad', 'relay:']) {
      let err: unknown;
      try {
        parseRelaySpec(arg);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OvsdbError);
      expect((err as OvsdbError).render()).toBe(`ovsdb error: ${arg}: invalid syntax`);
    }
  });

  it('accepts an empty remote list and an empty name, as the reference does', () => {
    expect(parseRelaySpec('relay:Bad:')).toMatchObject({ name: 'Bad', remotes: [] });
    expect(parseRelaySpec('relay::unix:/x')).toMatchObject({ name: '', remotes: ['unix:/x'] });
  });
});

describe('ovsdb-cs remote lists', () => {
  it('splits at commas that start a new method, keeping commas inside a remote', () => {
    expect(parseRemoteList('unix:/a,b,unix:/c').remotes).toEqual(['unix:/a,b', 'unix:/c']);
    expect(parseRemoteList('  tcp:1.2.3.4:1, ssl:5.6.7.8:2').remotes).toEqual(['tcp:1.2.3.4:1', 'ssl:5.6.7.8:2']);
  });

  it('takes the cid: element out', () => {
    const r = parseRemoteList('unix:/a,cid:8A58248C-0000-4000-8000-000000000001,unix:/b');
    expect(r).toEqual({ remotes: ['unix:/a', 'unix:/b'], cid: '8a58248c-0000-4000-8000-000000000001' });
    // Not a uuid: an ordinary (unusable) remote, as in the reference.
    expect(parseRemoteList('cid:xyz,unix:/b')).toEqual({ remotes: ['cid:xyz', 'unix:/b'], cid: null });
  });

  it('shuffles without losing or duplicating remotes', () => {
    const items = ['a', 'b', 'c', 'd'];
    let i = 0;
    const seq = [0.9, 0.1, 0.5];
    const out = shuffled(items, () => seq[i++ % seq.length]);
    expect([...out].sort()).toEqual(items);
    expect(items).toEqual(['a', 'b', 'c', 'd']);
  });
});
