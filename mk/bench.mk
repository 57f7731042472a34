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
