// The version texts. Every --version and the unixctl `version` command print the reference's line first
// (scripts read only that line: ovs-lib and ovn-lib take `awk 'NR==1{print $NF}'` of `ovs-appctl version`),
// then a line naming ovsdb-ts and its own version from package.json (bundled into dist/ by esbuild).
import pkg from '../package.json' with { type: 'json' };

/** The version of Open vSwitch whose behaviour ovsdb-ts reproduces. */
export const OVS_VERSION = '3.1.0';
/** ovsdb-ts's own version (package.json). */
export const OVSDB_TS_VERSION: string = pkg.version;

/** `<program> (Open vSwitch) 3.1.0`, then `ovsdb-ts <version>`, newline-terminated. */
export function versionText(program: string): string {
  return `${program} (Open vSwitch) ${OVS_VERSION}\novsdb-ts ${OVSDB_TS_VERSION}\n`;
}
