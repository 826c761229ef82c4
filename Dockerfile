# ovsdb-ts in a container: ovsdb-server on tcp:$OVSDB_PORT (default 6640) and unix:/run/ovsdb-ts/db.sock for
# the database $OVSDB_DB (default /var/lib/ovsdb-ts/conf.db), created from $OVSDB_SCHEMA on first start.
# Not built or run in this project's CI (no docker engine there): see README, "Container".
#
#   docker build -t ovsdb-ts .
#   docker run -d --name vswitch-db -p 6640:6640 -v ovsdb:/var/lib/ovsdb-ts ovsdb-ts
#   docker run -d --name ovn-nb -p 6641:6641 -v ovn-nb:/var/lib/ovsdb-ts \
#       -e OVSDB_SCHEMA=/usr/share/ovn/ovn-nb.ovsschema -e OVSDB_DB=/var/lib/ovsdb-ts/ovnnb_db.db -e OVSDB_PORT=6641 ovsdb-ts
#   docker exec vswitch-db ovsdb-ts appctl -t /run/ovsdb-ts/ovsdb-server.ctl ovsdb-server/list-dbs

# Build: the bundle and the production npm packages, installed as `make install` lays them out.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN make install PREFIX=/opt/ovsdb-ts
# The schemas of the Open vSwitch 3.1 / OVN 23.03 that ovsdb-ts reproduces, from Debian bookworm's packages
# (unpacked only: the packages and their dependencies stay out of the image).
RUN apt-get update && cd /tmp && apt-get download openvswitch-switch ovn-central \
    && for deb in ./*.deb; do dpkg-deb -x "$deb" /schemas; done

FROM node:20-bookworm-slim
# tini as PID 1: a process that is PID 1 does not die of a signal it re-raises (ovsdb-server exits on
# SIGTERM that way, after removing its pidfile and sockets).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
    && install -d -o node -g node /var/lib/ovsdb-ts /run/ovsdb-ts
COPY --from=build /opt/ovsdb-ts /opt/ovsdb-ts
COPY --from=build /schemas/usr/share/openvswitch/vswitch.ovsschema /usr/share/openvswitch/
COPY --from=build /schemas/usr/share/ovn/ /usr/share/ovn/
COPY contrib/docker/entrypoint.sh /usr/local/bin/ovsdb-ts-entrypoint
ENV PATH=/opt/ovsdb-ts/bin:$PATH \
    OVSDB_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema \
    OVSDB_DB=/var/lib/ovsdb-ts/conf.db \
    OVSDB_PORT=6640
USER node
VOLUME /var/lib/ovsdb-ts
EXPOSE 6640
HEALTHCHECK --interval=30s --timeout=5s CMD ["ovsdb-ts", "appctl", "-T", "4", "-t", "/run/ovsdb-ts/ovsdb-server.ctl", "version"]
ENTRYPOINT ["/usr/bin/tini", "--", "ovsdb-ts-entrypoint"]
