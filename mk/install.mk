# make install: honours DESTDIR; never overwrites a live configuration.
#
# The helper runs as HELPER_USER when the module runs as root (SPEC 5), so
# `make install` creates that system user (no home, no login shell), once:
# an existing user is left as it is.  With DESTDIR (a staged install for a
# package) no user is created: the package's maintainer scripts do that on
# the target system.
HELPER_USER ?= _phoneverify

.PHONY: install-user
install-user:
	@if [ -n "$(DESTDIR)" ]; then \
	    echo "DESTDIR is set: not creating the system user $(HELPER_USER) (the package does that on the target)"; \
	elif getent passwd $(HELPER_USER) >/dev/null; then \
	    echo "system user $(HELPER_USER) exists"; \
	else \
	    useradd --system --user-group --no-create-home \
	        --home-dir /nonexistent --shell /usr/sbin/nologin \
	        --comment "pam_phoneverify network helper" $(HELPER_USER) && \
	    echo "created system user $(HELPER_USER)"; \
	fi

install: all install-user
	install -d -m 0755 $(DESTDIR)$(PAMDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SBINDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_phoneverify.so
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBEXECDIR)/phoneverify-http
	install -m 0755 $(CLI) $(DESTDIR)$(SBINDIR)/phoneverify
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 conf/* $(DESTDIR)$(DOCDIR)/examples/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/security
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf ]; then \
	    echo "keeping existing $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf"; \
	else \
	    install -m 0600 conf/pam_phoneverify.conf $(DESTDIR)$(SYSCONFDIR)/security/pam_phoneverify.conf; \
	fi
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	if [ -d man ] && ls man/*.[0-9] >/dev/null 2>&1; then \
	    for m in man/*.[0-9]; do s=$${m##*.}; \
	        install -d -m 0755 $(DESTDIR)$(MANDIR)/man$$s; \
	        install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done; \
	fi
