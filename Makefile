# Sherlock: `make up` starts it, `make test` runs every test. Both install
# what is missing first and are safe to run twice (file targets and stamps).
.DEFAULT_GOAL := help
SHELL := /bin/bash

BUILD := build
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

BPF_SOURCES := $(wildcard bpf/*/*.bpf.c)
BPF_OBJECTS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SOURCES))
BPF_MIN_BTFS := $(BPF_OBJECTS:.bpf.o=.min.btf)
KERNEL_ID := $(BUILD)/kernel.id
# Fixtures for the binding's tests and benchmarks, built by `make bpf` too.
TEST_BPF_SOURCES := $(wildcard test/bpf/*/*.bpf.c)
TEST_BPF_OBJECTS := $(patsubst test/bpf/%.bpf.c,$(BUILD)/test-bpf/%.bpf.o,$(TEST_BPF_SOURCES))
VMLINUX_H := $(BUILD)/vmlinux/vmlinux.h
TS_SOURCES := $(shell find src bench -name '*.ts' -o -name '*.tsx' 2>/dev/null)
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-I$(BUILD)/vmlinux -Ibpf/common -I/usr/include/$(shell uname -m)-linux-gnu

.PHONY: help up test lint bench build deps test-pythons bpf dist clean FORCE
help:
	@echo "make up     install what is missing, build, start Sherlock"
	@echo "make test   install what is missing, build, run the whole test suite"
	@echo "make bench  build, run the benchmarks (figures and ratios)"
	@echo "make dist   build the release tarball (build/release/): no compiler needed where it runs"

# All in one: embedded Redis, the API on :7070 and a worker for this host.
up: build
	node bin/sherlock.js up

test: build lint test-pythons
	npx vitest run

# Rules that catch bugs (unhandled promises, unused values, unsafe regexes), typed with the tsconfig.
lint: node_modules/.package-lock.json
	npx prettier --check --log-level warn "src/**/*.{ts,tsx}" "test/**/*.{ts,mjs}" "bench/**/*.ts"
	npx eslint --max-warnings=0 src test bench

bench: build
	@scripts/install-deps.sh --bench
	node --expose-gc dist/bench/run.js

# The release: compiled JS, CO-RE objects, runbooks, production deps, launcher.
dist: build
	@scripts/make-dist.sh

build: deps node_modules/.package-lock.json bpf dist/.built

# Debian packages, installed only when one is missing.
deps:
	@scripts/install-deps.sh

# CPython 3.13 and 3.14 for the Python-frame tests, Debian's builds unpacked under
# build/pythons/ (not installed); fetched once, a failure only makes those tests skip.
test-pythons:
	@scripts/fetch-test-pythons.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

bpf: $(BPF_OBJECTS) $(BPF_MIN_BTFS) $(TEST_BPF_OBJECTS)

# Which kernel the build was made on; rewritten only when that changes, so
# what derives from the kernel's BTF is rebuilt then and only then.
$(KERNEL_ID): FORCE
	@mkdir -p $(@D)
	@id="$$(uname -r) $$(uname -v) $$(stat -c %s /sys/kernel/btf/vmlinux)"; \
	[ "$$(cat $@ 2>/dev/null)" = "$$id" ] || echo "$$id" > $@

# vmlinux.h is generated from the running kernel's BTF; CO-RE relocates at load.
$(VMLINUX_H): $(KERNEL_ID)
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# -g keeps BTF for CO-RE; strip only the DWARF afterwards.
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp && mv $@.tmp $@

# Just the kernel types an object relocates against (BTFGen): loading with it
# skips parsing all of vmlinux BTF, ~20 ms of every load. Used only while the
# kernel matches $(KERNEL_ID) (src/util/paths.ts).
$(BUILD)/bpf/%.min.btf: $(BUILD)/bpf/%.bpf.o $(KERNEL_ID)
	$(BPFTOOL) gen min_core_btf /sys/kernel/btf/vmlinux $@ $<

$(BUILD)/test-bpf/%.bpf.o: test/bpf/%.bpf.c $(VMLINUX_H)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp && mv $@.tmp $@

-include $(BPF_OBJECTS:.o=.d) $(TEST_BPF_OBJECTS:.o=.d)

dist/.built: $(TS_SOURCES) tsconfig.json tsconfig.build.json node_modules/.package-lock.json
	npx tsc -p tsconfig.build.json
	@touch $@

clean:
	rm -rf $(BUILD) dist
