// koffi and libc.so.6, loaded on first use: the native module costs ~30 ms of start-up, and a
// `--version`, `--help` or option error must not pay for it.  koffi is CommonJS, so a plain
// require() loads it synchronously (and skips the ESM wrapper's export scan).
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

/**
 * require() for CommonJS packages. `import.meta.url` is empty when this module is bundled as CommonJS
 * (the crash tests bundle a writer that way); `__filename` exists there.
 */
export const nodeRequire: NodeJS.Require = createRequire(import.meta.url ?? __filename);

let koffiModule: typeof Koffi | null = null;
let libcHandle: Koffi.LibraryHandle | null = null;

/** The koffi module. */
export function koffi(): typeof Koffi {
  koffiModule ??= nodeRequire('koffi') as typeof Koffi;
  return koffiModule;
}

/** The process's libc, for the calls Node has no binding for (fcntl locks, dup2, syslog, strerror). */
export function libc(): Koffi.LibraryHandle {
  libcHandle ??= koffi().load('libc.so.6');
  return libcHandle;
}
