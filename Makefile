# pam_phoneverify - build, test, install, demo.
#
#   make                 module, helper, CLI
#   make check           every test (installs missing dependencies first)
#   make demo            interactive login against the local simulator
#   make install         DESTDIR-aware install
#   make check-asan      the suites against an ASan+UBSan build
#   make check-valgrind  the integration suite under valgrind

CC      ?= cc
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
SANITIZE ?=

PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR      ?= $(if $(wildcard /usr/lib/$(MULTIARCH)/security),/usr/lib/$(MULTIARCH)/security,/lib/security)
LIBEXECDIR  ?= $(PREFIX)/libexec/pam_phoneverify
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/pam_phoneverify
STATEDIR    ?= /var/lib/pam_phoneverify

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla
CSTD    := -std=c11 -D_GNU_SOURCE
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2
OPT     ?= -O2 -g
ifeq ($(SANITIZE),1)
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=undefined
HARDEN  := -fstack-protector-strong
SANLD   := -fsanitize=address,undefined
endif
CPPFLAGS += -DPV_DEFAULT_HELPER='"$(LIBEXECDIR)/phoneverify-http"' \
            -DPV_DEFAULT_CONF='"$(SYSCONFDIR)/security/pam_phoneverify.conf"' \
            -DPV_DEFAULT_USERS_FILE='"$(SYSCONFDIR)/security/phoneverify.users"' \
            -DPV_DEFAULT_STATE_DIR='"$(STATEDIR)"'
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(HARDEN) -fPIC
LDFLAGS += -Wl,-z,relro,-z,now $(SANLD)

SRC := pam_phoneverify
LIB_SRCS := pv_err.c pv_util.c pv_safefile.c pv_config.c pv_config_check.c pv_phone.c \
            pv_lookup.c pv_policy.c pv_helper_proto.c pv_http.c pv_json.c \
            pv_provider.c pv_send.c pv_verify.c pv_precheck.c pv_numverify.c pv_qr.c pv_sha256.c pv_state.c pv_state_file.c pv_lockout.c \
            pv_flow.c pv_flow_code.c pv_flow_precheck.c pv_flow_numverify.c pv_flow_io.c pv_sendlimit.c pv_log.c pv_breakglass.c pv_runtime.c pv_users_edit.c
LIB_OBJS := $(addprefix $(BUILD)/obj/,$(LIB_SRCS:.c=.o))
LIB      := $(BUILD)/libpvcore.a
LIB_LIBS := -lcjson -lqrencode -lcrypt

MODULE := $(BUILD)/pam_phoneverify.so
HELPER := $(BUILD)/phoneverify-http
CLI    := $(BUILD)/phoneverify
HELPER_OBJS := $(addprefix $(BUILD)/obj/,phoneverify_http.o pv_helper_proto.o pv_util.o pv_err.o)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all check check-unit check-integration check-pam deps deps-build install demo \
        clean check-asan check-valgrind fuzz
all: $(MODULE) $(HELPER) $(CLI)

$(BUILD)/obj/%.o: $(SRC)/%.c $(wildcard $(SRC)/*.h) Makefile | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(LIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(MODULE): $(BUILD)/obj/pam_phoneverify.o $(LIB) $(SRC)/pam_phoneverify.map
	$(CC) -shared -o $@ $(BUILD)/obj/pam_phoneverify.o $(LIB) \
	    -Wl,--version-script=$(SRC)/pam_phoneverify.map -Wl,--no-undefined \
	    $(LDFLAGS) $(LIB_LIBS) -lpam

$(HELPER): $(HELPER_OBJS)
	$(CC) -o $@ $^ $(LDFLAGS) -pie -lcurl

$(CLI): $(BUILD)/obj/phoneverify.o $(LIB)
	$(CC) -o $@ $^ $(LDFLAGS) -pie $(LIB_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -I$(SRC) -o $@ $< \
	    $(LIB) $(LDFLAGS) $(LIB_LIBS) -lcmocka

# A tiny PAM application for the hardening tests (fd leaks, reaping, 100
# loads in one process); plain flags so it stays uninstrumented even in a
# SANITIZE=1 build.
PAMAPP := $(BUILD)/pv_pamapp
$(PAMAPP): tests/pamapp/pv_pamapp.c | $(BUILD)/obj
	$(CC) $(CSTD) $(WARN) -O1 -g -o $@ $< -lpam

deps:
	@scripts/install-deps

deps-build:
	@scripts/install-deps --build-only

check: deps
	$(MAKE) all
	$(MAKE) check-unit
	$(MAKE) check-integration

check-unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; PV_BUILD=$(abspath $(BUILD)) $$t; done

PYTEST = PV_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q $(PYTEST_ARGS)

# Build artefacts, simulator, CLI; the module through pamtester + pam_wrapper
# over HTTP and then HTTPS (test CA made at run time); real sshd and sudo
# (root only: skipped with a message otherwise).
check-integration: all $(PAMAPP)
	$(PYTEST) tests/build tests/sim tests/cli
	$(MAKE) check-pam
	$(MAKE) check-pam PAM_PYTEST_ARGS=--pv-tls
	$(PYTEST) tests/e2e

# The module through pamtester + pam_wrapper: the suite that check-asan and
# check-valgrind run again against their builds.
check-pam: all $(PAMAPP)
	$(PYTEST) tests/integration $(PAM_PYTEST_ARGS)

demo: deps
	$(MAKE) all
	PV_BUILD=$(abspath $(BUILD)) $(PYTHON) scripts/demo

clean:
	rm -rf build build-asan

include mk/install.mk
include mk/fuzz.mk
include mk/sanitize.mk
