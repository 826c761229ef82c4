// Standalone entry for `ovsdb-ts tool` (cli/main.ts dispatches `tool` to runTool as well).
import { runTool } from './tool.ts';

runTool(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`ovsdb-tool: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
