# make deb: the Debian package libpam-phoneverify (debian/), built with
# dpkg-buildpackage from a copy of the tree in $(DEB_DIR)/src so that build
# artefacts and the ../*.deb it writes stay out of the checkout; the .deb
# (and .buildinfo, .changes, -dbgsym .ddeb) end up in $(DEB_DIR)/.  Then
# lintian, which must report no error.
#
# make check-package: installs, exercises and purges that .deb on this
# machine (root only; tests/package/README.md).

DEB_DIR ?= build-deb
DEB_SRC := $(DEB_DIR)/src
# tar excludes for the copy: VCS data, build trees, caches
DEB_EXCLUDES := --exclude=./.git --exclude=./build --exclude='./build-*' \
                --exclude=./tests/fuzz/corpus-work --exclude=__pycache__ \
                --exclude=.pytest_cache --exclude='*.pyc'
LINTIAN_ARGS ?= --fail-on error --display-info

.PHONY: deb deb-clean check-package

# MAKEFLAGS is dropped so that variables given to this make (BUILD=,
# SANITIZE=, ...) do not leak into the package build; DEB_DIR too (make
# exports command-line variables): the copy's `make clean` (dh_auto_clean)
# would otherwise remove an absolute DEB_DIR, itself included.
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -cf - $(DEB_EXCLUDES) . | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DEB_DIR \
	    DEB_BUILD_OPTIONS="parallel=$$(nproc) $${DEB_BUILD_OPTIONS:-}" \
	    dpkg-buildpackage -us -uc -b
	lintian $(LINTIAN_ARGS) $(DEB_DIR)/libpam-phoneverify_*.changes
	@ls -1 $(DEB_DIR)/*.deb

deb-clean:
	rm -rf $(DEB_DIR)

clean: deb-clean

# Root only: without root it says so and builds nothing.
check-package:
	@if [ "$$(id -u)" -ne 0 ]; then \
	    echo "check-package: SKIPPED: installs the package with dpkg (root only; CI runs it as root)"; \
	else \
	    $(MAKE) deb && \
	    PV_DEB="$$(ls $(abspath $(DEB_DIR))/libpam-phoneverify_*.deb)" \
	        $(PYTHON) -m pytest -q $(PYTEST_ARGS) tests/package; \
	fi
