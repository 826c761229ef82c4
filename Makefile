# ovsdb-ts — see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
NODE_MODULES_STAMP := node_modules/.package-lock.json
DEBIAN_PKGS := openvswitch-switch openvswitch-common ovn-central ovn-common python3-openvswitch openssl coreutils

.PHONY: all build deps npm-deps os-deps typecheck test unit run bench bench-quick install uninstall clean

# `make install [PREFIX=…]`: the tree goes to $(LIBDIR), its two commands are linked into $(PREFIX)/bin.
# Relative links and paths only: the installed tree can be moved or copied as a whole. The default keeps
# ours out of the system's PATH (contrib/systemd puts /opt/ovsdb-ts/bin first where wanted); with
# PREFIX=/usr/local, `ovsdb-server` in /usr/local/bin comes before /usr/sbin's for everyone.
PREFIX ?= /opt/ovsdb-ts
LIBDIR := $(PREFIX)/lib/ovsdb-ts

all: build

# Exactly the locked versions; never rewrites package-lock.json. The lock lists every platform's optional
# native packages (test/unit/package-lock.test.ts checks that it stays so).
$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

npm-deps: $(NODE_MODULES_STAMP)

# The real OVS/OVN tools are the oracle for the interop and differential tests; openssl makes the test
# PKI; the Python IDL test runs Debian's /usr/bin/python3. Installed only when something is missing.
OS_COMMANDS := ovsdb-server ovsdb-client ovsdb-tool ovs-appctl ovs-vsctl ovn-nbctl ovn-sbctl ovn-northd openssl stdbuf
os-deps:
	@missing=""; \
	for c in $(OS_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	[ -x /usr/share/ovn/scripts/ovn-ctl ] || missing="$$missing ovn-ctl"; \
	/usr/bin/python3 -c 'import ovs.db.idl' 2>/dev/null || missing="$$missing python3-openvswitch"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages (missing:$$missing): $(DEBIAN_PKGS)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $(DEBIAN_PKGS) >/dev/null; \
	fi

deps: npm-deps os-deps

typecheck: npm-deps
	npx tsc --noEmit -p .

# Our code bundled into dist/ (npm packages stay external): bin/ovsdb-server starts in a fraction of the
# time tsx needs. The bin scripts fall back to the TypeScript sources when the bundle is older than them.
build: npm-deps
	rm -rf dist
	npx esbuild cli/ovsdb-server.ts cli/main.ts --bundle --splitting --platform=node --format=esm --packages=external \
	  --target=node20 --sourcemap --outdir=dist --out-extension:.js=.mjs --log-level=warning

test: deps typecheck build
	npx vitest run

unit: npm-deps
	npx vitest run test/unit

run: build
	./bin/ovsdb-ts run

# Side by side with the real ovsdb-server: the protocol scenarios, then the storage engines, then
# replication, then relays, memory, then clusters. Each writes markdown (and JSON) under bench/results/.
bench: deps build
	npx tsx bench/run.ts
	npx tsx bench/storage.ts --json bench/results/storage.json | tee bench/results/storage.md
	npx tsx bench/replication.ts | tee bench/results/replication.md
	npx tsx bench/relay.ts | tee bench/results/relay.md
	npx tsx bench/memory.ts --json bench/results/memory.json | tee bench/results/memory.md
	npx tsx bench/cluster.ts | tee bench/results/cluster.md

bench-quick: deps build
	npx tsx bench/run.ts --quick
	npx tsx bench/storage.ts --quick --json bench/results/quick-storage.json | tee bench/results/quick-storage.md
	npx tsx bench/replication.ts --quick | tee bench/results/quick-replication.md
	npx tsx bench/relay.ts --quick | tee bench/results/quick-relay.md
	npx tsx bench/memory.ts --quick --json bench/results/quick-memory.json | tee bench/results/quick-memory.md
	npx tsx bench/cluster.ts --quick | tee bench/results/quick-cluster.md

# The bundle, the bin scripts, the production npm packages (from the lock, as `npm ci --omit=dev` installs
# them; the npm cache filled by `make build` serves them) and the default schema `ovsdb-ts run` falls back to.
install: build
	rm -rf "$(DESTDIR)$(LIBDIR)"
	install -d "$(DESTDIR)$(LIBDIR)/bin" "$(DESTDIR)$(LIBDIR)/dist" "$(DESTDIR)$(LIBDIR)/fixtures/schemas" "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 bin/ovsdb-server bin/ovsdb-ts "$(DESTDIR)$(LIBDIR)/bin/"
	install -m 0644 dist/*.mjs dist/*.map "$(DESTDIR)$(LIBDIR)/dist/"
	install -m 0644 package.json package-lock.json LICENSE README.md "$(DESTDIR)$(LIBDIR)/"
	install -m 0644 fixtures/schemas/default.ovsschema "$(DESTDIR)$(LIBDIR)/fixtures/schemas/"
	cd "$(DESTDIR)$(LIBDIR)" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error
	ln -sfn ../lib/ovsdb-ts/bin/ovsdb-server "$(DESTDIR)$(PREFIX)/bin/ovsdb-server"
	ln -sfn ../lib/ovsdb-ts/bin/ovsdb-ts "$(DESTDIR)$(PREFIX)/bin/ovsdb-ts"

uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/ovsdb-server" "$(DESTDIR)$(PREFIX)/bin/ovsdb-ts"
	rm -rf "$(DESTDIR)$(LIBDIR)"

clean:
	rm -rf data dist node_modules
