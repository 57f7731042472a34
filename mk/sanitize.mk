# mk/sanitize.mk - the test suites under AddressSanitizer+UBSan and valgrind.
#
# Included by the top Makefile (after its variables are defined).
#
#   make check-asan                  both halves below
#   make check-asan-unit             unit tests, build-asan/, ASan+UBSan
#   make check-asan-integration      integration suite, build-asan/ module
#                                    loaded into pamtester with libasan
#                                    preloaded
#   make check-valgrind              both halves below
#   make check-valgrind-unit         unit tests under valgrind ($(BUILD))
#   make check-valgrind-integration  pamtester under valgrind ($(BUILD))
#
# Contract with the integration suite (tests/integration), which does:
#   PV_BUILD          read the build directory from it;
#   PV_TEST_PRELOAD   prepend it (space-separated libraries) to the
#                     LD_PRELOAD of every PAM client it starts (pamtester,
#                     pamconv.py), BEFORE libpam_wrapper/libnss_wrapper:
#                     the ASan runtime must come first;
#   PV_TEST_WRAPPER   split it like a shell would (shlex.split) and put it
#                     in front of the pamtester command line (and of
#                     pamconv.py's); empty or unset: no wrapper (the
#                     suite also reads the older name PV_TEST_RUNNER; both
#                     are set here);
#   PV_TEST_LDFLAGS   add it to the link of the C drivers the suite builds
#                     against the build's libpvcore.a (the sanitizers);
#   PV_TEST_TIME_SCALE  multiply its time bounds (set to
#                     $(VALGRIND_TIME_SCALE) under valgrind,
#                     $(ASAN_TIME_SCALE) under ASan);
#   and copy from its own environment into the PAM client's environment,
#   when set: ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS PYTHONMALLOC
#   PAM_WRAPPER_DISABLE_DEEPBIND.  See tests/fuzz/README.md.

ASAN_BUILD      ?= build-asan
# The ASan runtime of the compiler that builds build-asan (gcc-12's
# libasan.so.8 with the default CC).  A module built with ASan can only be
# loaded into an uninstrumented program (pamtester, python) with this
# runtime preloaded first.
ASAN_RUNTIME    ?= $(shell $(CC) -print-file-name=libasan.so)
LSAN_SUPP       := $(abspath tests/lsan.supp)

# abort_on_error: an ASan/LSan report kills the process with SIGABRT, so it
# can never be mistaken for pamtester's own exit status 1 (auth failure).
# color=never: reports end up in pty transcripts, keep them plain text.
PV_ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1:color=never
PV_UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:color=never
PV_LSAN_OPTIONS  ?= suppressions=$(LSAN_SUPP):print_suppressions=0
ASAN_TIME_SCALE  ?= 2

# libpam dlcloses the module in pam_end, before LeakSanitizer reports at
# exit, so every module frame of a leak report would read "<unknown
# module>".  This one-line library, preloaded after libasan, makes dlclose
# a no-op for the test clients so the module stays mapped and its frames
# are symbolised (pv_strdup pv_util.c:28 <- pam_sm_authenticate ...).
# Trade-off: memory a module global still points to at exit would count as
# reachable; the valgrind pass (real dlclose, --keep-debuginfo) covers that
# case.  ASAN_KEEP_MODULES=0 turns the shim off.
ASAN_KEEP_MODULES ?= 1
ASAN_NODLCLOSE  := $(ASAN_BUILD)/pv-test-nodlclose.so
ASAN_PRELOAD     = $(ASAN_RUNTIME) $(if $(filter 1,$(ASAN_KEEP_MODULES)),$(abspath $(ASAN_NODLCLOSE)))

# PYTHONMALLOC=malloc: pamconv.py (python) gets libasan preloaded too; with
# pymalloc, objects referenced only from pymalloc arenas (mmap, not scanned
# by LeakSanitizer) are reported as leaks at exit.  With plain malloc
# Python is leak-clean and nothing Python-related needs suppressing.
# pam_wrapper dlopens with RTLD_DEEPBIND by default, which the sanitizer
# runtimes (and valgrind) cannot work with.
SAN_ENV = ASAN_OPTIONS=$(PV_ASAN_OPTIONS) \
          UBSAN_OPTIONS=$(PV_UBSAN_OPTIONS) \
          LSAN_OPTIONS=$(PV_LSAN_OPTIONS) \
          PYTHONMALLOC=malloc \
          PAM_WRAPPER_DISABLE_DEEPBIND=1

VALGRIND        ?= valgrind
VALGRIND_BUILD  ?= $(BUILD)
VALGRIND_LOGDIR ?= $(VALGRIND_BUILD)/valgrind-logs
VALGRIND_TIME_SCALE ?= 5
# pytest-xdist workers of the valgrind pass (CPU-bound: fewer than the
# plain pass's PV_TEST_JOBS)
VALGRIND_TEST_JOBS ?= 3
# Distinct from pamtester's 0/1 so that a valgrind finding can never pass
# for an expected authentication failure; the logs are scanned as well.
VALGRIND_ERROR_EXITCODE ?= 99
VALGRIND_FLAGS  ?= --leak-check=full --errors-for-leak-kinds=definite \
                   --show-leak-kinds=definite \
                   --error-exitcode=$(VALGRIND_ERROR_EXITCODE) \
                   --trace-children=no --child-silent-after-fork=yes \
                   --keep-debuginfo=yes --num-callers=40
# test_state_etcd drives a real etcd member through the helper, which this
# valgrind (3.19, no execveat) cannot start from the module's checked
# descriptor in that test; the plain and ASan passes run it.
VALGRIND_UNIT_SKIP := tests/unit/test_state_etcd.c
VALGRIND_UNIT_TESTS = $(patsubst tests/unit/%.c,$(VALGRIND_BUILD)/tests/%,\
                        $(filter-out $(VALGRIND_UNIT_SKIP),\
                                     $(wildcard tests/unit/test_*.c)))

.PHONY: check-asan check-asan-unit check-asan-integration check-asan-build \
        check-valgrind check-valgrind-unit check-valgrind-integration \
        check-valgrind-build

# ---- AddressSanitizer + UBSan ---------------------------------------------

check-asan: check-asan-unit check-asan-integration

$(ASAN_NODLCLOSE):
	@mkdir -p $(@D)
	printf 'int dlclose(void *h);\nint dlclose(void *h) { (void)h; return 0; }\n' | \
	    $(CC) -shared -fPIC -O1 -x c -o $@ -

# one build shared by both halves (safe under make -j)
check-asan-build: $(ASAN_NODLCLOSE)
	@test -f "$(ASAN_RUNTIME)" || { \
	    echo "check-asan: no ASan runtime: '$(CC) -print-file-name=libasan.so'" \
	         "gave '$(ASAN_RUNTIME)'; install libasan8 or set ASAN_RUNTIME" >&2; \
	    exit 1; }
	@test -f "$(LSAN_SUPP)" || { echo "check-asan: $(LSAN_SUPP) missing" >&2; exit 1; }
	$(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=1 all

check-asan-unit: check-asan-build
	$(SAN_ENV) $(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=1 check-unit

check-asan-integration: check-asan-build
	$(SAN_ENV) PV_TEST_PRELOAD="$(ASAN_PRELOAD)" \
	    PV_TEST_LDFLAGS="-fsanitize=address,undefined" \
	    PV_TEST_TIME_SCALE=$(ASAN_TIME_SCALE) \
	    $(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=1 check-pam

# ---- valgrind ---------------------------------------------------------------

check-valgrind: check-valgrind-unit check-valgrind-integration

check-valgrind-build:
	@command -v $(VALGRIND) >/dev/null || { echo "check-valgrind: $(VALGRIND) not found" >&2; exit 1; }
	$(MAKE) BUILD=$(VALGRIND_BUILD) all $(VALGRIND_UNIT_TESTS)

# valgrind runs a child's exec itself, opening the program by path as the
# new user: the execute-only helper then runs as root here
# (PV_TEST_HELPER_USER), and the tests of what the kernel does at exec
# (dumpability, limits) and the one time bound (a valid break-glass code
# not delayed by wrong tries) skip themselves (PV_TEST_UNDER_VALGRIND);
# the plain and ASan passes run them.
check-valgrind-unit: check-valgrind-build
	@PV_BUILD=$(abspath $(VALGRIND_BUILD)) \
	    PV_TEST_HELPER_USER=root PV_TEST_UNDER_VALGRIND=1 \
	    scripts/run-unit -j $(VALGRIND_TEST_JOBS) \
	        --wrap "$(VALGRIND) -q $(VALGRIND_FLAGS)" $(VALGRIND_UNIT_TESTS)

# pamtester runs under valgrind (PV_TEST_WRAPPER); the helper it starts is
# not traced (--trace-children=no).  --keep-debuginfo: libpam dlcloses the
# module before the leak check at exit; keep its symbols for the report.
# valgrind writes one log per process (not into the pty transcript the
# tests parse); afterwards every log with an error is shown and fails the
# target, whatever the tests concluded.
# Under valgrind every login pays the tool's start-up (~2 s), so this pass
# leaves out what only repeats a path the rest already drives: the
# configuration permutations (the parser is unit-tested under valgrind and
# fuzzed), the group/trusted-host scope rows (the policy is unit-tested
# under valgrind, and every login here runs it), the failmode=safe twins
# of the fault tests, the many-logins-in-parallel tests (the same path
# as one login, 50 times) and the million-line users file (the streaming
# lookup is unit-tested under valgrind).  --durations names what is left
# that costs most, for the next trim.
# The helper's and the lookup command's privilege drop are checked in the
# plain passes: valgrind opens an exec'd file by path as the new user (it
# emulates exec from the checked descriptor), and the test tree is
# root-only, so this pass runs the helper as root (pvtest.Login).  The
# resend_wait tests wait out the provider's minute in real time (and their
# timing does not scale): they run in the plain and ASan passes.
# The real-time twins of the fake-clock rows (tests/unit/test_flow.c
# clock_rows and grace sequences, which check-valgrind-unit runs) wait
# TIME_SCALE times longer here (grace 10 s, numverify_wait 5 s) for no new
# path: a grant found expired, a grant voided by a lock and Enter after
# numverify_wait run the code the other grace and numVerify tests of this
# pass already drive; they run in the plain and ASan passes.
VALGRIND_PAM_ARGS ?= --ignore=tests/integration/test_config_errors.py \
                     --ignore=tests/integration/test_resend_wait.py \
                     --ignore=tests/integration/test_helper_privilege.py \
                     --ignore=tests/integration/test_lookup_command.py \
                     --ignore=tests/integration/test_config_rules.py \
                     --ignore=tests/integration/test_scope.py \
                     -k "not _safe and not parallel and not million_line \
                         and not test_grant_expires \
                         and not test_lockout_ends_remote_grant \
                         and not test_enter_after_wait_refused" \
                     --durations=25

check-valgrind-integration: check-valgrind-build
	@rm -rf $(VALGRIND_LOGDIR) && mkdir -p $(VALGRIND_LOGDIR)
	@set +e; wrap="$(VALGRIND) $(VALGRIND_FLAGS) --log-file=$(abspath $(VALGRIND_LOGDIR))/vg.%p.log"; \
	PAM_WRAPPER_DISABLE_DEEPBIND=1 PV_TEST_TIME_SCALE=$(VALGRIND_TIME_SCALE) \
	PV_TEST_WRAPPER="$$wrap" PV_TEST_RUNNER="$$wrap" \
	    $(MAKE) BUILD=$(VALGRIND_BUILD) check-pam \
	        PV_TEST_JOBS=$(VALGRIND_TEST_JOBS) \
	        PAM_PYTEST_ARGS='$(VALGRIND_PAM_ARGS)'; rc=$$?; \
	bad=$$(grep -l -E 'ERROR SUMMARY: [1-9]' $(VALGRIND_LOGDIR)/*.log 2>/dev/null); \
	n=$$(ls $(VALGRIND_LOGDIR) | wc -l); \
	echo "valgrind: $$n process logs in $(VALGRIND_LOGDIR)"; \
	if [ $$n -eq 0 ] && [ $$rc -eq 0 ]; then \
	    echo "valgrind: no process ran under valgrind - does the suite honour PV_TEST_WRAPPER?" >&2; \
	    rc=1; \
	fi; \
	for f in $$bad; do echo "==== $$f" >&2; cat $$f >&2; done; \
	if [ -n "$$bad" ]; then echo "valgrind: errors in: $$bad" >&2; rc=1; fi; \
	exit $$rc
