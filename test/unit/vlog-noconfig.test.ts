import { it, expect } from 'vitest';
import { vlogCommands, logFilePath } from '../../cli/vlog.ts';

// A separate file, so the module state has never seen --log-file.
it('vlog/reopen without --log-file is the OVS error', () => {
  expect(logFilePath()).toBe(null);
  expect(vlogCommands.find((c) => c.name === 'vlog/reopen')!.run([])).toEqual({
    ok: false,
    text: 'Logging to file not configured',
  });
});
