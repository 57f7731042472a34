# make bench - the cost of one login, measured (doc/performance.md).
#
#   make bench                      60 interleaved rounds, the full table
#   make bench BENCH_ARGS='-n 20 --concurrent 0 --users-sizes 10000'
#
# Builds, starts the simulator over HTTPS on loopback, prints the table
# and stops everything it started.  Results are printed, never asserted:
# the exit status is non-zero only when a login goes wrong.
BENCH_ARGS ?=

.PHONY: bench
bench: all
	$(PYTHON) scripts/bench --build $(abspath $(BUILD)) $(BENCH_ARGS)

# make bench-fleet - `state = etcd` under load (doc/fleet.md).
#
#   make bench-fleet
#   make bench-fleet BENCH_FLEET_ARGS='--rates 25,50 --seconds 10 --variants old,new,old-newconn'
#   make all && make bench-fleet BENCH_FLEET_ARGS='--rates 50 --module 20'
#                                   (first the real module vs the file store,
#                                   scripts/bench)
#
# Starts a 3-member TLS etcd cluster on loopback (tests/fleet/etcdcluster.py),
# replays the module's etcd requests of a successful login at each rate and
# prints latency, requests, proposals, leases, etcd CPU and RSS per login;
# stops the cluster.  Needs etcd-server and etcd-client (scripts/install-deps).
# Holds /tmp/pv-fleet.lock so that it never shares the machine with the
# fleet tests.
BENCH_FLEET_ARGS ?= --rates 25,50,100 --seconds 20 --users 1000 --hosts 10

.PHONY: bench-fleet
bench-fleet:
	flock /tmp/pv-fleet.lock $(PYTHON) scripts/bench-fleet $(BENCH_FLEET_ARGS)
