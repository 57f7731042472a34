# pam_phoneverify - build, test, install, demo.
#
#   make                 module, helper, CLI
#   make check           every test (installs missing dependencies first)
#   make demo            interactive login against the local simulator
#   make install         DESTDIR-aware install
#   make check-asan      the suites against an ASan+UBSan build
#   make check-valgrind  the integration suite under valgrind

CC      ?= cc
# Build lines are summarised ("  CC  build/obj/flow/pv_flow.o"); V=1 shows the
# whole commands.
V       ?= 0
ifeq ($(V),1)
say      =
else
say      = @printf '  %-6s %s\n' $(1) $(2);
endif
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
SANITIZE ?=

PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR      ?= $(if $(wildcard /lib/$(MULTIARCH)/security),/lib/$(MULTIARCH)/security,/lib/security)
LIBEXECDIR  ?= $(PREFIX)/libexec/pam_phoneverify
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/pam_phoneverify
STATEDIR    ?= /var/lib/pam_phoneverify
LOCALEDIR   ?= $(PREFIX)/share/locale

# -Werror: on in `make check` and CI (WERROR=1), off by default so that a
# distribution's newer compiler does not fail its build on a new warning.
WERROR  ?= 0
WARN    = -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Wformat=2 -Wshadow -Wpointer-arith \
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
            -DPV_DEFAULT_STATE_DIR='"$(STATEDIR)"' \
            -DPV_LOCALEDIR='"$(LOCALEDIR)"'
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(HARDEN) -fPIC
LDFLAGS += -Wl,-z,relro,-z,now $(SANLD)

# pam_phoneverify/: one folder per layer (doc/architecture.md), highest
# first: pam/ (the PAM glue), flow/ (the decision and its steps), policy/
# (lockout, send budget, failover, break-glass), provider/ (the provider
# clients), state/ (the state backends), identity/ (users file, lookup,
# phone, origin), transport/ (the interface and the helper-backed
# transport), config/, base/ (primitives).  Includes name the folder
# ("state/pv_state.h") from one -I; scripts/layers says which folder may
# include which and `make lint` enforces it.  helper/ is the network helper
# (a separate process: links only the protocol, util and libcurl); cli/ the
# admin CLI and what only it uses.
SRC := pam_phoneverify
LAYERS := pam flow policy provider state identity transport config base
SRC_DIRS := $(addprefix $(SRC)/,$(LAYERS) cli helper)
HDRS := $(wildcard $(addsuffix /*.h,$(SRC_DIRS)))
CPPFLAGS += -I$(SRC)
LIB_SRCS := base/pv_err.c base/pv_util.c base/pv_safefile.c base/pv_spawn.c \
            base/pv_log.c base/pv_qr.c base/pv_sha256.c base/pv_base64.c \
            base/pv_i18n.c base/pv_json.c base/pv_url.c \
            config/pv_config.c config/pv_config_parse.c \
            config/pv_config_values.c config/pv_config_check.c config/pv_scope.c \
            transport/pv_helper_proto.c transport/pv_transport.c transport/pv_http.c \
            identity/pv_origin.c identity/pv_phone.c identity/pv_lookup.c \
            identity/pv_users_edit.c \
            state/pv_state.c state/pv_state_open.c state/pv_state_file.c state/pv_state_etcd.c \
            state/pv_state_mem.c \
            provider/pv_provider.c provider/pv_send.c provider/pv_verify.c \
            provider/pv_precheck.c provider/pv_numverify.c \
            policy/pv_lockout.c policy/pv_sendlimit.c policy/pv_failover.c \
            policy/pv_breakglass.c \
            flow/pv_flow.c flow/pv_flow_code.c flow/pv_flow_precheck.c \
            flow/pv_flow_numverify.c flow/pv_flow_grace.c flow/pv_flow_io.c flow/pv_flow_state.c \
            pam/pv_runtime.c \
            cli/pv_pamd.c cli/pv_termtext.c
LIB_OBJS := $(addprefix $(BUILD)/obj/,$(LIB_SRCS:.c=.o))
LIB      := $(BUILD)/libpvcore.a
# Libraries through pkg-config (Debian 12 ships a .pc for each).
PKG_CONFIG ?= pkg-config
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1))
# No libcurl here: the module and the CLI do no network I/O themselves,
# and libcurl's dependency tree (TLS, Kerberos, LDAP, ...) loaded into
# every sshd and sudo would cost each login its relocation and widen what
# runs in those processes.  Only the helper links it.
LIB_LIBS := $(call pkg_libs,libcjson libqrencode libcrypt)
PAM_LIBS := $(call pkg_libs,pam)
CURL_LIBS := $(call pkg_libs,libcurl)
CMOCKA_LIBS := $(call pkg_libs,cmocka)

MODULE := $(BUILD)/pam_phoneverify.so
HELPER := $(BUILD)/phoneverify-http
CLI    := $(BUILD)/phoneverify
HELPER_OBJS := $(addprefix $(BUILD)/obj/,helper/phoneverify_http.o helper/pv_curl_class.o \
               helper/pv_curl_url.o transport/pv_helper_proto.o base/pv_url.o \
               base/pv_util.o base/pv_err.o)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: po-update all check check-unit check-integration check-pam deps deps-build deps-demo install demo \
        clean check-asan check-valgrind fuzz check-fleet
# User-visible messages: po/LANG.po -> BUILD/locale/LANG/LC_MESSAGES/*.mo
# (msgfmt -c checks that every translation keeps the printf conversions).
LANGS    := $(patsubst po/%.po,%,$(wildcard po/*.po))
CATALOGS := $(foreach l,$(LANGS),$(BUILD)/locale/$(l)/LC_MESSAGES/pam_phoneverify.mo)

all: $(MODULE) $(HELPER) $(CLI) $(CATALOGS)

$(BUILD)/locale/%/LC_MESSAGES/pam_phoneverify.mo: po/%.po
	@mkdir -p $(@D)
	$(call say,MSGFMT,$@)msgfmt -c -o $@ $<

# Regenerate the template from the sources and merge it into every .po
# (a maintainer's step; the test suite checks the result is complete).
po-update:
	xgettext --language=C --keyword=N_ --from-code=UTF-8 --add-comments=TRANSLATORS \
	    --package-name=pam_phoneverify --omit-header --no-location -o po/pam_phoneverify.pot \
	    $(wildcard $(addsuffix /*.c,$(SRC_DIRS))) $(HDRS)
	for l in $(LANGS); do msgmerge -q -U --no-location --backup=none po/$$l.po po/pam_phoneverify.pot; done

$(BUILD)/obj/%.o: $(SRC)/%.c $(HDRS) Makefile | $(BUILD)/obj
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	@mkdir -p $@

$(LIB): $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(MODULE): $(BUILD)/obj/pam/pam_phoneverify.o $(LIB) $(SRC)/pam/pam_phoneverify.map
	$(call say,LD,$@)$(CC) -shared -o $@ $(BUILD)/obj/pam/pam_phoneverify.o $(LIB) \
	    -Wl,--version-script=$(SRC)/pam/pam_phoneverify.map -Wl,--no-undefined \
	    $(LDFLAGS) $(LIB_LIBS) $(PAM_LIBS)

# Execute-only, as installed (doc/security.md): the helper user cannot read
# it, so the kernel keeps every helper not dumpable from its exec on, and
# the tests run it that way.
$(HELPER): $(HELPER_OBJS)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDFLAGS) -pie $(CURL_LIBS) && chmod 0711 $@

CLI_OBJS := $(addprefix $(BUILD)/obj/cli/,phoneverify.o phoneverify_check.o phoneverify_out.o phoneverify_probe.o)
$(CLI): $(CLI_OBJS) $(LIB)
	$(call say,LD,$@)$(CC) -o $@ $^ $(LDFLAGS) -pie $(LIB_LIBS)

# libcurl's URL API is the reference reading of an operator link (SPEC 5):
# the test holds the module's own check against it.
# The helper's own URL check (helper/pv_curl_url.c), held to the loopback order.
$(BUILD)/tests/test_url: LIB_LIBS += $(BUILD)/obj/helper/pv_curl_url.o
$(BUILD)/tests/test_url: $(BUILD)/obj/helper/pv_curl_url.o
$(BUILD)/tests/test_url: LIB_LIBS += $(CURL_LIBS)
# The helper's failure table (helper/pv_curl_class.c), held against its rows.
$(BUILD)/tests/test_http: LIB_LIBS += $(BUILD)/obj/helper/pv_curl_class.o
$(BUILD)/tests/test_http: $(BUILD)/obj/helper/pv_curl_class.o
$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)/tests
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -o $@ $< \
	    $(LIB) $(LDFLAGS) $(LIB_LIBS) $(CMOCKA_LIBS)

# A tiny PAM application for the hardening tests (fd leaks, reaping, 100
# loads in one process); plain flags so it stays uninstrumented even in a
# SANITIZE=1 build.
PAMAPP := $(BUILD)/pv_pamapp
$(PAMAPP): tests/pamapp/pv_pamapp.c | $(BUILD)/obj
	$(CC) $(CSTD) $(WARN) -O1 -g -o $@ $< $(PAM_LIBS)

deps:
	@scripts/install-deps

deps-build:
	@scripts/install-deps --build-only

# make demo installs only what the demo runs (not the test tool set)
deps-demo:
	@scripts/install-deps --demo

# The test targets build with -Werror (their sub-makes inherit it).
check check-unit check-integration check-pam check-fleet check-asan check-valgrind lint: export WERROR = 1

check: deps
	$(MAKE) all
	$(MAKE) check-unit
	$(MAKE) check-integration
	$(MAKE) check-package

# UNIT_JOBS programs at a time (they mostly wait: scripts/run-unit)
UNIT_JOBS ?= 4
check-unit: $(UNIT_TESTS)
	@PV_BUILD=$(abspath $(BUILD)) scripts/run-unit -j $(UNIT_JOBS) $(UNIT_TESTS)

PYTEST = PV_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q $(PYTEST_ARGS)

# Build artefacts, simulator, CLI; the module through pamtester + pam_wrapper
# over HTTP and then HTTPS (test CA made at run time; only the transport and
# TLS tests: the decisions do not change with TLS, see TRANSPORT_FILES in
# tests/integration/conftest.py); real sshd and sudo (root only: skipped
# with a message otherwise).
check-integration: all $(PAMAPP)
	$(PYTEST) tests/build tests/sim tests/cli
	$(MAKE) check-pam
	$(MAKE) check-pam PAM_PYTEST_ARGS="--pv-tls -m 'transport or tls_only'"
	$(PYTEST) tests/e2e
	$(MAKE) check-fleet

# state = etcd: the module on two "hosts" sharing a 3-member etcd cluster
# (TLS, client certificates) that the tests start on loopback and stop.
check-fleet: all
	$(PYTEST) tests/fleet

# The module through pamtester + pam_wrapper: the suite that check-asan and
# check-valgrind run again against their builds.  Its logins mostly wait
# (on the simulator, on time bounds), so it runs in PV_TEST_JOBS
# pytest-xdist workers (each with its own pam_wrapper directories:
# tests/lib/pwrap.py); PV_TEST_JOBS=1 runs it in one process.
PV_TEST_JOBS ?= 4
PAM_XDIST = $(if $(filter-out 0 1,$(PV_TEST_JOBS)),-n $(PV_TEST_JOBS) -p xdist,-p no:xdist)
check-pam: all $(PAMAPP)
	$(PYTEST) $(PAM_XDIST) tests/integration $(PAM_PYTEST_ARGS)

demo: deps-demo
	$(MAKE) all
	PV_BUILD=$(abspath $(BUILD)) $(PYTHON) scripts/demo

clean:
	rm -rf build build-asan

include mk/install.mk
include mk/lint.mk
include mk/fuzz.mk
include mk/sanitize.mk
include mk/deb.mk
include mk/bench.mk
