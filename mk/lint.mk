# mk/lint.mk - the written style, checked (make lint; CI runs it):
# clang-format --dry-run against .clang-format for every C file, and
# scripts/checksrc (banned functions, the pv_ prefix, reserved names,
# comments that cite files outside the repository, and the layers of
# scripts/layers: no include from a higher layer, no include loop) for the
# product's sources, and scripts/checkdocs (man pages render without a warning, every
# configuration key is in pam_phoneverify.conf(5) and the example).
CLANG_FORMAT ?= clang-format
LINT_SRC  := $(wildcard $(addsuffix /*.c,$(SRC_DIRS))) $(HDRS)
LINT_FMT  := $(LINT_SRC) $(wildcard tests/unit/*.c tests/fuzz/*.c \
                                    tests/fuzz/*.h tests/pamapp/*.c)

.PHONY: lint lint-format lint-src lint-docs format
lint: lint-format lint-src lint-docs

lint-format:
	@$(CLANG_FORMAT) --dry-run -Werror $(LINT_FMT) && \
	    echo "lint: $(words $(LINT_FMT)) files formatted as .clang-format says"

lint-src:
	@$(PYTHON) scripts/checksrc $(LINT_SRC) && \
	    echo "lint: $(words $(LINT_SRC)) sources pass scripts/checksrc"

lint-docs:
	@$(PYTHON) scripts/checkdocs && \
	    echo "lint: man pages render without warnings; every key documented"

# Rewrite the files in place (a developer's step before committing).
format:
	$(CLANG_FORMAT) -i $(LINT_FMT)
