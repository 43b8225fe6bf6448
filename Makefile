# afs - one non-recursive GNU Makefile.
#
#   make                 build the programs into build/
#   make check           run every test (installs missing Debian packages first)
#   make demo            mount the bundled example codebase and show the policy at work
#   make deps            install the Debian packages the build, tests and runtime need
#   make install         PREFIX=/usr/local DESTDIR=
#   make deb             build/afs_VERSION_amd64.deb and build/python3-agentfense_VERSION_all.deb
#   make image           the OCI image afs:VERSION (docker), from Debian's packages and the .deb
#   make fuzz            run each libFuzzer target for FUZZ_TIME seconds (clang)
#   make bench-policy    decisions per second of the policy engine
#   make bench-fs        afs-fuse against native and bindfs, as ratios
#   make bench-launch    afs-launch's start-up against bare bwrap and docker
#   make bench-real      real work (make, git, tar, npm, sed) under afs-launch against bare bwrap
#   make bench-session   afs-session exec's round trip, leaks and throughput
#   make bench-mem       afs-fuse's memory under load (open handles, listings)
#   make bench-net       afs-proxy's throughput and added latency against direct loopback
#   make bench-remote    the ssh:// endpoint against local runs and tar over ssh (root)
#   bench/ab-copyup.sh OLD_BUILD   copy-up through two builds at once (root)
#
# Variants: WERROR=1 (warnings are errors), SANITIZE=address,undefined.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/afs
MANDIR  ?= $(PREFIX)/share/man
B       := build
VERSION := 0.1.0

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wwrite-strings -Wswitch-enum
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# pkg-config runs when a recipe needs it, after 'deps' has had its chance.
PKG_CFLAGS = $(shell pkg-config --cflags fuse3 yaml-0.1 libpcre2-8 jansson libcap-ng libseccomp)
PKG_LIBS   = $(shell pkg-config --libs yaml-0.1 libpcre2-8)
FUSE_LIBS  = $(shell pkg-config --libs fuse3)
JSON_LIBS  = $(shell pkg-config --libs jansson)
CAPNG_LIBS = $(shell pkg-config --libs libcap-ng)
SECCOMP_LIBS = $(shell pkg-config --libs libseccomp)

ALL_CFLAGS  = -std=gnu11 $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE \
              -D_FILE_OFFSET_BITS=64 -DAFS_VERSION='"$(VERSION)"' \
              -DAFS_DATADIR='"$(DATADIR)"' -Ilib $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

LIB_SRC  := $(wildcard lib/*.c)
FUSE_SRC := $(wildcard afs-fuse/*.c)
AUDIT_SRC := $(wildcard afs-audit/*.c)
LAUNCH_SRC := $(wildcard afs-launch/*.c)
SESSION_SRC := $(wildcard afs-session/*.c)
PROXY_SRC := $(wildcard afs-proxy/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
HELP_SRC := $(wildcard tests/helpers/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
FUSE_OBJ := $(FUSE_SRC:%.c=$(B)/obj/%.o)
AUDIT_OBJ := $(AUDIT_SRC:%.c=$(B)/obj/%.o)
LAUNCH_OBJ := $(LAUNCH_SRC:%.c=$(B)/obj/%.o)
SESSION_OBJ := $(SESSION_SRC:%.c=$(B)/obj/%.o)
PROXY_OBJ := $(PROXY_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:%.c=$(B)/%)
HELP_BIN := $(HELP_SRC:%.c=$(B)/%)
PROGS    := $(B)/afs-fuse $(B)/afs-audit $(B)/afs-launch $(B)/afs-session $(B)/afs-proxy \
            $(B)/afs-remote

.PHONY: all check check-run unit deps demo demo-run install uninstall clean fuzz bench-policy bench-fs bench-launch bench-real bench-session bench-mem bench-net bench-remote deb image FORCE
all: $(PROGS)

# Objects are rebuilt when the flags change (a SANITIZE build after a
# plain one).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

$(B)/.deps-ok: contrib/install-deps.sh
	@mkdir -p $(B)
	@sh contrib/install-deps.sh
	@touch $@

deps:
	@sh contrib/install-deps.sh

$(B)/obj/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libafs.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/afs-fuse: $(FUSE_OBJ) $(B)/libafs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(FUSE_OBJ) $(B)/libafs.a $(FUSE_LIBS) $(PKG_LIBS) -lpthread -lm

$(B)/afs-audit: $(AUDIT_OBJ) $(B)/libafs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(AUDIT_OBJ) $(B)/libafs.a $(JSON_LIBS) $(PKG_LIBS) -lpthread -lm

$(B)/afs-launch: $(LAUNCH_OBJ) $(B)/libafs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(LAUNCH_OBJ) $(B)/libafs.a $(CAPNG_LIBS) $(SECCOMP_LIBS) $(PKG_LIBS) -lm

$(B)/afs-session: $(SESSION_OBJ) $(B)/libafs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(SESSION_OBJ) $(B)/libafs.a -lm

# afs-remote is the Python module's (contrib/python/agentfense/_serve.py):
# here it runs from the tree, installed from PYTHONDIR.
$(B)/afs-remote: contrib/python/afs-remote.in
	@mkdir -p $(@D)
	sed -e 's|@PYTHON@|$(PYTHON)|' -e 's|@PYTHONPATH@|$(CURDIR)/contrib/python|' $< >$@.tmp
	chmod 0755 $@.tmp && mv $@.tmp $@

$(B)/afs-proxy: $(PROXY_OBJ) $(B)/libafs.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(PROXY_OBJ) $(B)/libafs.a $(PKG_LIBS) -lpthread -lm

$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(B)/libafs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_EXTRA_$*) $(B)/libafs.a $(PKG_LIBS) -lpthread -lm

# A unit test of a program's code links that code too (UNIT_EXTRA_name):
# test-authz, afs-fuse's rules (authz.o), which ask delta.o about the
# delta's names; delta.o needs backing.o.
UNIT_EXTRA_test-authz := $(addprefix $(B)/obj/afs-fuse/,authz.o delta.o backing.o)
$(B)/tests/unit/test-authz: $(UNIT_EXTRA_test-authz)

# Test instruments, not code under test: never built with the sanitizers
# (a sanitizer's report at exit would replace what they print).
$(B)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -o $@ $< $(LDFLAGS)

unit: $(UNIT_BIN)

# check and demo install what is missing first (a sub-make, so that nothing
# is compiled before the headers are there); plain make only builds.
check:
	@sh contrib/install-deps.sh
	@$(MAKE) --no-print-directory check-run

check-run: $(PROGS) $(UNIT_BIN) $(HELP_BIN)
	@prove --exec '' $(if $(V),-v) $(UNIT_BIN) $(sort $(wildcard tests/t[0-9]*.sh))

demo:
	@sh contrib/install-deps.sh
	@$(MAKE) --no-print-directory demo-run

demo-run: $(PROGS)
	@sh contrib/demo.sh

# ---- fuzzing (clang's libFuzzer) ----------------------------------------
FUZZ_TIME ?= 60
FUZZ_CC   ?= clang
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
              -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Ilib $(PKG_CFLAGS)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))

# Targets that need more than lib/: afs-audit's reader.
FUZZ_EXTRA_fuzz-audit-query := afs-audit/query.c -Iafs-audit
# afs-proxy's request parser.
FUZZ_EXTRA_fuzz-proxy-request := afs-proxy/request.c -Iafs-proxy
$(B)/fuzz/fuzz-proxy-request: $(wildcard afs-proxy/request.[ch])

$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h) $(wildcard afs-audit/*.[ch]) | $(B)/.deps-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(FUZZ_EXTRA_$*) $(PKG_LIBS) $(JSON_LIBS) \
	  -lpthread -lm

fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  n=$$(basename $$t); mkdir -p $(B)/fuzz/corpus-$$n; \
	  echo "fuzz: $$n for $(FUZZ_TIME)s"; \
	  $$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 $(B)/fuzz/corpus-$$n tests/fuzz/corpus-$$n; \
	done

# ---- benchmarks -----------------------------------------------------------
$(B)/bench/%: bench/%.c $(B)/libafs.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(B)/libafs.a $(PKG_LIBS) -lpthread -lm

bench-policy: $(B)/bench/policy-bench
	$(B)/bench/policy-bench

# The filesystem against native and bindfs (root; see bench/fs-bench.sh).
bench-fs: $(PROGS) $(B)/bench/gentree $(B)/bench/mkfiles
	bash bench/fs-bench.sh

# afs-launch's start-up against bare bwrap and docker (root; see
# bench/launch-bench.sh).
bench-launch: $(PROGS) $(B)/bench/gentree
	bash bench/launch-bench.sh

# Real work (a build, git, tar, npm install, a codemod) under afs-launch -s
# against bare bwrap over a native copy (root; see bench/real-bench.sh).
bench-real: $(PROGS)
	bash bench/real-bench.sh

# afs-fuse's memory under load (root; see bench/mem-bench.sh).
bench-mem: $(PROGS) $(B)/tests/helpers/attack
	bash bench/mem-bench.sh

# The network allowlist: afs-proxy's throughput and added latency against
# the same transfers direct on loopback (root; see bench/net-bench.sh).
bench-net: $(PROGS)
	bash bench/net-bench.sh

# The agentfense module's ssh:// endpoint against a real local sshd (root,
# openssh-server): run("true") and a round trip against the same work
# without ssh, from_local of 10,000 files against tar c | ssh tar x.
bench-remote: $(PROGS)
	$(PYTHON) bench/remote-bench.py

# afs-session exec's round trip against fork+exec and afs-launch, fds and
# memory over many execs, throughput, concurrent clients (root; see
# bench/session-bench.sh).
bench-session: $(PROGS)
	bash bench/session-bench.sh

# ---- install ----------------------------------------------------------------
UNITDIR ?= $(PREFIX)/lib/systemd/system
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
LOGROTATEDIR ?= /etc/logrotate.d
PYTHON ?= /usr/bin/python3
# Where Debian's python3 looks for PREFIX's packages (/usr/local/lib/python3.X/dist-packages).
PYTHONDIR ?= $(shell $(PYTHON) -c 'import sys; print("$(PREFIX)/lib/python%d.%d/dist-packages" % sys.version_info[:2])' 2>/dev/null)

install: $(PROGS)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/policies \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(COMPDIR) $(DESTDIR)$(LOGROTATEDIR)
	install -m 0755 $(filter-out $(B)/afs-remote,$(PROGS)) $(DESTDIR)$(BINDIR)/
	install -m 0644 policies/*.yaml $(DESTDIR)$(DATADIR)/policies/
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/afs-policy.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|/usr/local/bin/|$(BINDIR)/|g' contrib/systemd/afs-fuse@.service \
	  >$(DESTDIR)$(UNITDIR)/afs-fuse@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/afs-fuse@.service
	install -m 0644 contrib/bash-completion/afs $(DESTDIR)$(COMPDIR)/afs-fuse
	ln -sf afs-fuse $(DESTDIR)$(COMPDIR)/afs-audit
	ln -sf afs-fuse $(DESTDIR)$(COMPDIR)/afs-launch
	ln -sf afs-fuse $(DESTDIR)$(COMPDIR)/afs-session
	ln -sf afs-fuse $(DESTDIR)$(COMPDIR)/afs-proxy
	install -m 0644 contrib/logrotate/afs $(DESTDIR)$(LOGROTATEDIR)/afs
	@if [ -n "$(PYTHONDIR)" ]; then \
	  echo "install agentfense into $(DESTDIR)$(PYTHONDIR)"; \
	  install -d -m 0755 $(DESTDIR)$(PYTHONDIR)/agentfense $(DESTDIR)$(PYTHONDIR)/agentfense/_async && \
	  install -m 0644 contrib/python/agentfense/*.py $(DESTDIR)$(PYTHONDIR)/agentfense/ && \
	  install -m 0644 contrib/python/agentfense/_async/*.py $(DESTDIR)$(PYTHONDIR)/agentfense/_async/ && \
	  sed -e 's|@PYTHON@|$(PYTHON)|' -e 's|@PYTHONPATH@|$(PYTHONDIR)|' \
	    contrib/python/afs-remote.in >$(DESTDIR)$(BINDIR)/afs-remote && \
	  chmod 0755 $(DESTDIR)$(BINDIR)/afs-remote; \
	else echo "install: no $(PYTHON): neither the agentfense module nor afs-remote is installed"; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(DESTDIR)$(MANDIR)/man5/afs-policy.5
	rm -rf $(DESTDIR)$(DATADIR)/policies
	rm -f $(DESTDIR)$(UNITDIR)/afs-fuse@.service $(DESTDIR)$(LOGROTATEDIR)/afs
	[ -z "$(PYTHONDIR)" ] || rm -rf $(DESTDIR)$(PYTHONDIR)/agentfense
	rm -f $(DESTDIR)$(COMPDIR)/afs-fuse $(DESTDIR)$(COMPDIR)/afs-audit \
	  $(DESTDIR)$(COMPDIR)/afs-launch $(DESTDIR)$(COMPDIR)/afs-session \
	  $(DESTDIR)$(COMPDIR)/afs-proxy

# ---- packages -----------------------------------------------------------------
# The Debian packages, built by debhelper (debian/) from a copy of the tree
# in build/deb/, so that nothing is written beside the tree; then lintian,
# whose every warning fails the build.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEBS = $(B)/afs_$(VERSION)_$(DEB_ARCH).deb $(B)/python3-agentfense_$(VERSION)_all.deb

deb:
	@sh contrib/install-deps.sh
	rm -rf $(B)/deb
	mkdir -p $(B)/deb/afs-$(VERSION)
	tar -c --exclude=./build --exclude=./.git --exclude='./$(B)' . | tar -x -C $(B)/deb/afs-$(VERSION)
	cd $(B)/deb/afs-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b -j2
	cp $(B)/deb/afs_$(VERSION)_$(DEB_ARCH).deb $(B)/deb/python3-agentfense_$(VERSION)_all.deb $(B)/
	lintian --fail-on error,warning --suppress-tags-from-file debian/lintian-suppress $(DEBS)

# The OCI image afs:VERSION: a minimal Debian root made by mmdebstrap from
# Debian's mirror (no registry), with the packages above installed in it,
# imported into the local dockerd (contrib/image/mkimage.sh).
image: deb
	B=$(B) sh contrib/image/mkimage.sh $(VERSION) $(DEBS)

clean:
	rm -rf $(B)

-include $(shell find $(B) -path '$(B)/deb' -prune -o -name '*.d' -type f -print 2>/dev/null)
