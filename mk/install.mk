# make install: honours DESTDIR; never overwrites a live configuration.
#
# The helper runs as HELPER_USER and the lookup command as LOOKUP_USER when
# the module runs as root (doc/security.md): each a system user of its own
# (the module refuses to run without them, and never uses nobody), so
# `make install` creates them (no home, no login shell), once: an existing
# user is left as it is.  With DESTDIR (a staged install for a package) no
# user is created: the package's maintainer scripts do that on the target.
HELPER_USER ?= _phoneverify
PAMCONFIGDIR ?= $(PREFIX)/share/pam-configs
USERSFILE   := $(SYSCONFDIR)/security/phoneverify.users
DOCS        := $(wildcard doc/*.md)
LOOKUP_USER ?= _phoneverify-lookup

define make_system_user
	@if [ -n "$(DESTDIR)" ]; then \
	    echo "DESTDIR is set: not creating the system user $(1) (the package does that on the target)"; \
	elif getent passwd $(1) >/dev/null; then \
	    echo "system user $(1) exists"; \
	else \
	    useradd --system --user-group --no-create-home \
	        --home-dir /nonexistent --shell /usr/sbin/nologin \
	        --comment "$(2)" $(1) && \
	    echo "created system user $(1)"; \
	fi
endef

.PHONY: install-user
install-user:
	$(call make_system_user,$(HELPER_USER),pam_phoneverify network helper)
	$(call make_system_user,$(LOOKUP_USER),pam_phoneverify lookup command)

install: all install-user
	install -d -m 0755 $(DESTDIR)$(PAMDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_phoneverify.so
	# execute-only: the helper user cannot read it, so the kernel keeps
	# every helper not dumpable from its exec on (doc/security.md)
	install -m 0711 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/phoneverify-http
	install -m 0755 $(CLI) $(DESTDIR)$(SBINDIR)/phoneverify
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/doc
	install -m 0644 conf/* $(DESTDIR)$(DOCDIR)/examples/
	# README.md links doc/*.md: the same layout under DOCDIR
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/doc/
	# without it `pam-auth-update --enable phoneverify` does nothing
	install -d -m 0755 $(DESTDIR)$(PAMCONFIGDIR)
	install -m 0644 conf/pam-auth-update.phoneverify $(DESTDIR)$(PAMCONFIGDIR)/phoneverify
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/security
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf ]; then \
	    echo "kept the existing $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf"; \
	else \
	    install -m 0600 conf/pam_phoneverify.conf $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf && \
	    echo "created $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf (the commented example: edit it, then run phoneverify check-config)"; \
	fi
	@# empty until `phoneverify enroll`: check-config passes on a fresh
	@# install and says that no user is enrolled yet
	@u=$(DESTDIR)$(USERSFILE); if [ -e $$u ]; then \
	    echo "kept the existing $$u"; \
	else \
	    install -m 0644 /dev/null $$u && \
	    echo "created $$u (empty: phoneverify enroll USER +PHONE adds users)"; \
	fi
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	for l in $(LANGS); do \
	    install -d -m 0755 $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES; \
	    install -m 0644 $(BUILD)/locale/$$l/LC_MESSAGES/pam_phoneverify.mo \
	        $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/; \
	done
	if [ -d man ] && ls man/*.[0-9] >/dev/null 2>&1; then \
	    for m in man/*.[0-9]; do s=$${m##*.}; \
	        install -d -m 0755 $(DESTDIR)$(MANDIR)/man$$s; \
	        install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done; \
	fi

# make uninstall: removes exactly what `make install` put down.  The
# configuration file goes only while it is still the shipped example
# (an edited one is the administrator's), the users file only while it is
# empty (enrolled phones are the administrator's); the state directory only
# when empty (it holds lockouts); the system users stay (files may carry
# their uids; `userdel _phoneverify` and `userdel _phoneverify-lookup`
# remove them by hand).  Without DESTDIR the profile is first taken out of
# the common-* stacks (as the package's prerm does); then every file under
# $(DESTDIR)/etc/pam.d that still names the module is listed: PAM cannot
# load a missing module, so every login through such a stack fails.
MANPAGES := $(wildcard man/*.[0-9])

.PHONY: uninstall
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -e $(PAMCONFIGDIR)/phoneverify ] && \
	    command -v pam-auth-update >/dev/null 2>&1; then \
	    pam-auth-update --package --remove phoneverify; fi
	@if grep -H -n -E '^[[:space:]]*[^#[:space:]].*[[:space:]]((/usr)?/lib/[^[:space:]]*/)?pam_phoneverify\.so([[:space:]]|$$)' $(DESTDIR)$(SYSCONFDIR)/pam.d/* 2>/dev/null; then \
	    echo "WARNING: the lines above still name pam_phoneverify.so: once it is gone PAM"; \
	    echo "cannot load it and every login through those stacks fails (root's too)."; \
	    echo "Take them out now, from a root shell you keep open (README.md, Install)."; \
	fi
	rm -f $(DESTDIR)$(PAMDIR)/pam_phoneverify.so \
	      $(DESTDIR)$(LIBEXECDIR)/phoneverify-http \
	      $(DESTDIR)$(SBINDIR)/phoneverify
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	for f in $(notdir $(wildcard conf/*)); do \
	    rm -f $(DESTDIR)$(DOCDIR)/examples/$$f; done
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/doc $(DESTDIR)$(DOCDIR) 2>/dev/null
	rm -f $(DESTDIR)$(PAMCONFIGDIR)/phoneverify
	-rmdir $(DESTDIR)$(PAMCONFIGDIR) 2>/dev/null
	for m in $(MANPAGES); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	for l in $(LANGS); do \
	    rm -f $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/pam_phoneverify.mo; done
	@c=$(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf; \
	if [ -e $$c ] && cmp -s $$c conf/pam_phoneverify.conf; then \
	    rm -f $$c && echo "removed $$c (unchanged example)"; \
	elif [ -e $$c ]; then \
	    echo "kept $$c: it was edited"; \
	fi
	@u=$(DESTDIR)$(USERSFILE); \
	if [ -f $$u ] && [ ! -s $$u ]; then \
	    rm -f $$u && echo "removed $$u (empty)"; \
	elif [ -e $$u ]; then \
	    echo "kept $$u: it holds enrolled users"; \
	fi
	@rmdir $(DESTDIR)$(STATEDIR) 2>/dev/null || \
	    { [ -d $(DESTDIR)$(STATEDIR) ] && echo "kept $(DESTDIR)$(STATEDIR): it holds state records"; } || true
