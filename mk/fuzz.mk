# mk/fuzz.mk - libFuzzer harnesses for the pure parsers (tests/fuzz/).
#
# Included by the top Makefile after LIB_SRCS/SRC/LIB_LIBS are defined.
#
#   make fuzz                   build, then run every harness FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600  longer;  make -jN fuzz  runs N in parallel
#   make -k fuzz                keep going after a harness fails
#   make fuzz-build             build only
#   make fuzz-run-state         one harness (fuzz-run-<name>)
#   make fuzz-regress           replay the checked-in seeds once (seconds)
#   make fuzz-clean             drop build-fuzz/ (working corpora included)
#
# Everything is compiled with clang: the library sources with
# -fsanitize=fuzzer-no-link,address,undefined into $(FUZZ_BUILD)/obj, each
# harness with -fsanitize=fuzzer,address,undefined.  UBSan findings are
# fatal (-fno-sanitize-recover), LeakSanitizer is on (libFuzzer's default
# -detect_leaks=1), so any crash, UB, leak, timeout or OOM makes the target
# fail.  Reproducers land in $(FUZZ_BUILD)/artifacts/<name>/.
#
# Each harness fuzzes a working copy of its seeds: tests/fuzz/corpus/<name>/
# is copied into $(FUZZ_BUILD)/corpus/<name>/, which grows run after run;
# the checked-in seeds stay small.  See tests/fuzz/README.md.

FUZZ_CC       ?= clang
FUZZ_BUILD    ?= build-fuzz
FUZZ_SECONDS  ?= 60
# per-input limit in seconds: a parser slower than this on one input is a bug
FUZZ_TIMEOUT  ?= 10
FUZZ_RSS_MB   ?= 2048
# extra libFuzzer flags, e.g. FUZZ_ARGS='-max_len=65536 -jobs=4'
FUZZ_ARGS     ?=
FUZZ_DIR      := tests/fuzz

# ---- the harnesses: tests/fuzz/fuzz_<name>.c + tests/fuzz/corpus/<name>/ ----
# pure parsers of local input
FUZZ_HARNESSES := config users gecos command_output state proto catalog url
# every link the check accepts is held against libcurl's URL API (SPEC 5)
$(FUZZ_BUILD)/fuzz_url: LIB_LIBS += $(CURL_LIBS)
# provider answers (doc/providers.md and the strict JSON layer under them)
FUZZ_HARNESSES += json send verify
# the whole flow on scripted answers, with allocation failures injected
FUZZ_HARNESSES += flow
$(FUZZ_BUILD)/fuzz_flow: LIB_LIBS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup

# the pre-check and numVerify parsers (doc/providers.md): byte 0 -> HTTP
# status, for numVerify byte 1 -> step AUTH/IDMOBILE/GET, the rest -> body.
# To add a harness: write tests/fuzz/fuzz_<name>.c and
# tests/fuzz/corpus/<name>/, then list <name> here.
FUZZ_HARNESSES += precheck numverify
# ----------------------------------------------------------------------------

FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_COMMON   := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
                 -Wstrict-prototypes -Wmissing-prototypes -Wvla
FUZZ_LIB_CFLAGS  := $(FUZZ_COMMON) -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_HARN_CFLAGS := $(FUZZ_COMMON) -fsanitize=fuzzer $(FUZZ_SAN)

FUZZ_LIB_OBJS := $(addprefix $(FUZZ_BUILD)/obj/,$(LIB_SRCS:.c=.o))
FUZZ_LIB      := $(FUZZ_BUILD)/libpvcore.a
FUZZ_BINS     := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_HARNESSES))

# libFuzzer flags for a run; -print_final_stats shows exec/s at the end
FUZZ_RUN_FLAGS = -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
                 -rss_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1 \
                 $(FUZZ_ARGS)

# Sanitizer settings for fuzz runs: leaks on, UBSan stacks and halting.
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean \
        $(addprefix fuzz-run-,$(FUZZ_HARNESSES))

fuzz-build: $(FUZZ_BINS)

fuzz: $(addprefix fuzz-run-,$(FUZZ_HARNESSES))

$(FUZZ_BUILD)/obj:
	mkdir -p $@

$(FUZZ_BUILD)/obj/%.o: $(SRC)/%.c $(HDRS) | $(FUZZ_BUILD)/obj
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_LIB_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_LIB) $(HDRS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_HARN_CFLAGS) -o $@ $< $(FUZZ_LIB) \
	    $(LIB_LIBS)

# One run: refresh the working corpus from the seeds, fuzz, fail on any
# finding.  libFuzzer exits non-zero on a crash, leak, UB, timeout or OOM.
$(addprefix fuzz-run-,$(FUZZ_HARNESSES)): fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@test -d $(FUZZ_DIR)/corpus/$* || \
	    { echo "fuzz: no seed corpus $(FUZZ_DIR)/corpus/$*" >&2; exit 1; }
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$*
	@cp -p $(FUZZ_DIR)/corpus/$*/* $(FUZZ_BUILD)/corpus/$*/
	@echo "== fuzz $* for $(FUZZ_SECONDS)s (log: $(FUZZ_BUILD)/fuzz_$*.log)"
	@set +e; $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$* $(FUZZ_RUN_FLAGS) \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ \
	    $(FUZZ_BUILD)/corpus/$* >$(FUZZ_BUILD)/fuzz_$*.log 2>&1; rc=$$?; \
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
	    $(FUZZ_BUILD)/fuzz_$*.log | sed 's/^/   /'; \
	echo "   corpus: $$(ls $(FUZZ_BUILD)/corpus/$* | wc -l) files"; \
	if [ $$rc -ne 0 ]; then \
	    echo "FUZZ FAILURE in $* (exit $$rc); last lines of the log:" >&2; \
	    tail -n 60 $(FUZZ_BUILD)/fuzz_$*.log >&2; \
	    ls -l $(FUZZ_BUILD)/artifacts/$*/ >&2; \
	    exit 1; \
	fi

# Replay the checked-in seeds once through every harness (no fuzzing): a
# quick regression check that needs only clang.
fuzz-regress: $(FUZZ_BINS)
	@set -e; for n in $(FUZZ_HARNESSES); do \
	    echo "== replay $$n"; \
	    $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$n -runs=0 \
	        $(FUZZ_DIR)/corpus/$$n >$(FUZZ_BUILD)/replay_$$n.log 2>&1 || \
	        { tail -n 40 $(FUZZ_BUILD)/replay_$$n.log >&2; exit 1; }; \
	done

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

clean: fuzz-clean
