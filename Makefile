# mailroom - GNU Makefile.
#   make            build/mailroom (optimised, with debug symbols)
#   make deps       install the Debian packages for building and testing
#   make check      unit tests and integration tests, built with ASan and UBSan
#   make run        development instance under ./run on the 25xx ports
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (not part of check)
#   make deb        build/mailroom_<version>_<arch>.deb (scripts/mkdeb.sh, pkg/deb)
#   make install    PREFIX=/usr/local

PREFIX ?= /usr/local
CC ?= cc
FUZZ_SECONDS ?= 60
PY ?= /usr/bin/python3

LIBS_PKG := libevent libevent_openssl libevent_pthreads libunbound sqlite3 libpq inih openssl libseccomp zlib jansson libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(LIBS_PKG) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(LIBS_PKG) 2>/dev/null) -lcrypt -lpthread

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wno-unused-parameter -Wformat=2 -Wvla \
	-Wno-format-truncation
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc $(WARN) -MMD -MP
CFLAGS ?= -O2 -g
# The release build is hardened as Debian builds its packages (dpkg-buildflags with
# hardening=+all): fortified libc calls, stack protector, a read-only GOT.
HARDEN_CFLAGS := -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS ?= -Wl,-z,relro -Wl,-z,now
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -DMAILROOM_WALL_PROBE \
	-fno-sanitize-recover=undefined

# The web pages' style sheet and script, made into C by scripts/embed.sh.
ASSETS := $(sort $(wildcard src/http/assets/*.css src/http/assets/*.js))
GEN_SRCS := build/gen/http_assets.c
SRCS := $(shell find src -name '*.c' | sort) $(GEN_SRCS)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

OBJ_REL := $(SRCS:%.c=build/obj/%.o)
OBJ_SAN := $(SRCS:%.c=build/san/%.o)
LIB_SAN := $(LIB_SRCS:%.c=build/san/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/san/tests/%)

.PHONY: all deps deps-build deps-all deps-bench check unit integration run fuzz install deb clean

all: deps-build build/mailroom

deps:
	scripts/deps.sh all

deps-build:
	@scripts/deps.sh build

deps-all:
	@scripts/deps.sh all

deps-bench:
	@scripts/deps.sh bench

build/mailroom: $(OBJ_REL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ_REL) $(PKG_LIBS)

build/gen/http_assets.c: $(ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $@ $(ASSETS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HARDEN_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC (san) $<"
	@$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -c -o $@ $<

build/san/mailroom: $(OBJ_SAN)
	$(CC) $(SAN_FLAGS) -o $@ $(OBJ_SAN) $(PKG_LIBS)

build/san/libmailroom.a: $(LIB_SAN)
	@rm -f $@
	ar rcs $@ $(LIB_SAN)

build/san/tests/%: tests/unit/%.c build/san/libmailroom.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -o $@ $< build/san/libmailroom.a \
		$(PKG_LIBS) -lcmocka

# The browser tests' one npm package, playwright-core, at the version of the lock
# file; it downloads no browser (the tests drive Debian's /usr/bin/chromium).
tests/browser/node_modules: tests/browser/package.json tests/browser/package-lock.json | deps-all
	cd tests/browser && npm ci --no-audit --no-fund
	@touch $@

# The Debian package: build/mailroom_<version>_<arch>.deb, laid out by scripts/mkdeb.sh
# from the release build; <version> is src/version.h's MAILROOM_VERSION and DEB_REVISION.
VERSION := $(shell sed -n 's/^\#define MAILROOM_VERSION "\(.*\)"$$/\1/p' src/version.h)
DEB_REVISION ?= 1
DEB := build/mailroom_$(VERSION)-$(DEB_REVISION)_$(shell dpkg --print-architecture 2>/dev/null).deb
DEB_INPUTS := $(wildcard pkg/deb/*) scripts/mkdeb.sh docs/mailroom.8 docs/mailroom.conf.5 \
	docs/mailroom.conf.example docs/security.md README.md

deb: $(DEB)

$(DEB): build/mailroom $(DEB_INPUTS) | deps-build
	scripts/mkdeb.sh build/mailroom $(VERSION)-$(DEB_REVISION) $@

# The tests run the sanitized binary; a sanitizer report anywhere fails them.
# tests/integration/test_deb.py installs the package (MAILROOM_DEB) and purges it.
check: deps-all build/mailroom build/san/mailroom $(DEB) $(UNIT_BINS) tests/browser/node_modules
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done
	MAILROOM_BIN=$(CURDIR)/build/san/mailroom MAILROOM_DEB=$(CURDIR)/$(DEB) \
		$(PY) -m pytest -q tests/integration

unit: deps-all $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: deps-all build/san/mailroom $(DEB) tests/browser/node_modules
	MAILROOM_BIN=$(CURDIR)/build/san/mailroom MAILROOM_DEB=$(CURDIR)/$(DEB) \
		$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

run: deps-all build/mailroom
	scripts/run-dev.sh

# libFuzzer needs clang; each harness links the parsers it exercises.
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	clang $(BASE_CFLAGS) -Wno-unknown-warning-option -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
		-o $@ $< $(LIB_SRCS) $(PKG_LIBS)

fuzz: deps-all $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/$$n tests/fuzz/corpus/$$n; \
	done

install: build/mailroom
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/doc/mailroom
	install -m 755 build/mailroom $(DESTDIR)$(PREFIX)/sbin/mailroom
	install -m 644 docs/mailroom.8 $(DESTDIR)$(PREFIX)/share/man/man8/mailroom.8
	install -m 644 docs/mailroom.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/mailroom.conf.5
	install -m 644 docs/mailroom.conf.example $(DESTDIR)$(PREFIX)/share/doc/mailroom/mailroom.conf.example

clean:
	rm -rf build

-include $(OBJ_REL:.o=.d) $(OBJ_SAN:.o=.d)

# Benchmarks against Postfix, OpenSMTPD and Dovecot on this machine (as root; 30 to
# 45 minutes): writes bench/RESULTS.md. BENCH_ARGS=--quick for a short run.
.PHONY: bench
bench: deps-bench build/mailroom build/bench/dkimrate
	$(PY) bench/run.py $(BENCH_ARGS)

# The release objects but main's, for bench/dkimrate.c (src/dkim's code, optimised).
LIB_REL := $(LIB_SRCS:%.c=build/obj/%.o)
build/obj/libmailroom.a: $(LIB_REL)
	@rm -f $@
	ar rcs $@ $(LIB_REL)

build/bench/dkimrate: bench/dkimrate.c build/obj/libmailroom.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(HARDEN_CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< \
		build/obj/libmailroom.a $(PKG_LIBS)

# The account store, SQLite against PostgreSQL (a few minutes): bench/RESULTS-store.md.
.PHONY: bench-store
bench-store: deps-all build/mailroom
	$(PY) bench/store.py $(BENCH_ARGS)
