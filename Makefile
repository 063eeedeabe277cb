# SPDX-License-Identifier: GPL-2.0
#
# HWPOISON series on Linux 6.12: build, boot, test, compare, benchmark.
# Every target installs what it needs on a Debian machine (as root) and
# builds incrementally under build/.

HWP := harness/hwp.py
PY := $(shell command -v python3 2>/dev/null)

KERNEL ?= ours
TIMEOUT ?= 600
T ?=

.PHONY: bootstrap help demo check compare bench profile vm series build \
	setup clean distclean fresh-check soak bisect

# Free-form arguments reach the harness through the environment, unexpanded:
# `make vm CMD='echo $$HOME'` runs exactly what was typed.
export HWP_CMD := $(value CMD)
export HWP_CMDLINE := $(value CMDLINE)
export HWP_QEMU := $(value QEMU)
unexport CMD CMDLINE QEMU

help:
	@echo 'make demo      build our kernel, boot it, show memory failure handling live'
	@echo 'make check     build + boot + every test on our kernel (KERNEL=upstream: on 6.12)'
	@echo 'make compare   the same suite on upstream 6.12 and ours, side by side'
	@echo 'make bench     per-page costs on both kernels (build/bench.tsv)'
	@echo 'make profile   ROW=hard_inuse: its guest instructions per kernel function'
	@echo 'make vm KERNEL=ours|upstream EXTRA=dir CMD=... HOST=script GUEST=busybox|debian13 INTERACTIVE=1'
	@echo 'make series    export our change as a patch series (build/series/)'
	@echo 'make bisect    git am the series on the base, build every commit, then'
	@echo '               the last with HWPOISON_INJECT=y and MEMORY_FAILURE=n'
	@echo 'make fresh-check  make check on a minimal Debian 12 root built for it (KERNEL= too)'
	@echo 'make soak KERNEL=ours|upstream MINUTES=30 SEED=1  all page types under offline, unpoison, fuzzing'
	@echo 'T="a b"        limits check/compare to those test binaries'
	@echo 'FLAVOUR=debug  check/compare on KASAN + kmemleak + DEBUG_VM kernels'

# A fresh Debian machine may not have python3 yet.
bootstrap:
	@command -v python3 >/dev/null 2>&1 || { \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3; }

setup: bootstrap
	@python3 $(HWP) setup

demo: bootstrap
	@python3 $(HWP) demo

check: bootstrap
	@python3 $(HWP) check --kernel '$(KERNEL)' $(T) $(if $(V),-v) \
		$(if $(FLAVOUR),--flavour '$(FLAVOUR)')

compare: bootstrap
	@python3 $(HWP) compare $(T) $(if $(V),-v) \
		$(if $(FLAVOUR),--flavour '$(FLAVOUR)')

bench: bootstrap
	@python3 $(HWP) bench

# Where a benchmark row's guest instructions go, per kernel function.
profile: bootstrap
	@python3 $(HWP) profile $(if $(ROW),--row '$(ROW)')

vm: bootstrap
	@python3 $(HWP) vm --kernel '$(KERNEL)' --timeout $(TIMEOUT) \
		$(if $(EXTRA),--extra '$(EXTRA)') \
		$(if $(value CMD),--cmd "$$HWP_CMD") \
		$(if $(HOST),--host '$(HOST)') \
		$(if $(value CMDLINE),--cmdline "$$HWP_CMDLINE") \
		$(if $(value QEMU),--qemu "$$HWP_QEMU") \
		$(if $(FLAVOUR),--flavour '$(FLAVOUR)') \
		$(if $(GUEST),--guest '$(GUEST)') $(if $(INTERACTIVE),--interactive)

# The README's test command on a minimal Debian 12 root that this builds
# (debootstrap --variant=minbase), with only `make` added: proves that the
# harness installs everything else it needs.
fresh-check: bootstrap
	@python3 $(HWP) fresh-check --kernel '$(KERNEL)' $(if $(V),-v)

# Every page type under a seeded stream of hard and soft offline, unpoison
# and fuzzed inputs, with compaction, khugepaged, ksmd and swap running.
soak: bootstrap
	@python3 $(HWP) soak --kernel '$(KERNEL)' \
		$(if $(MINUTES),--minutes '$(MINUTES)') $(if $(SEED),--seed '$(SEED)')

series: bootstrap
	@python3 $(HWP) series

# Every commit of the exported series builds (test configuration, no new
# warning in the files it touches); the last also with the injector built
# in and without CONFIG_MEMORY_FAILURE; our files pass W=1 and kernel-doc.
bisect: bootstrap
	@python3 $(HWP) bisect

build: bootstrap
	@python3 $(HWP) build ours upstream

clean:
	rm -rf build/runs build/tests build/series

# Refuses while a stopped fresh-check left /dev or a cache bound under build/.
distclean:
	@! grep -qF ' $(CURDIR)/build/' /proc/self/mounts || { \
		echo 'something is still mounted under build/: umount it first'; \
		exit 1; }
	rm -rf --one-file-system build
