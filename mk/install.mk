# make install: honours DESTDIR; never overwrites a live configuration.
install: all
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
