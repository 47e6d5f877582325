# gptmirror - one plain GNU Makefile.
#
#   make              bin/gptmirror and the bin/diskpart, bin/bootcfg links
#   make check        tests under AddressSanitizer + UBSan; ends "N passed, N failed"
#   make bench        benchmarks, each against a peer tool in the same run
#   make fuzz         libFuzzer targets (clang)
#   make fuzz-long    each target for FUZZ_SECONDS (default 60)
#   make demo         the KB procedure (as far as it exists) on a fresh machine
#   make kb           the KB replayed literally, each answer compared with the KB's
#   make golden-update  rewrite the golden transcripts from the current build
#   make install PREFIX=/usr/local [DESTDIR=...]   binary, links, loader,
#                     man pages, bash completion; make uninstall removes them
#   make deb          the Debian package (dpkg-buildpackage -us -uc -b)
#
# Every target that builds first runs scripts/install-deps, which installs
# missing Debian packages and is silent when all are there.

CC      ?= cc
PREFIX  ?= /usr/local
CSTD    := -std=c11 -D_GNU_SOURCE -isystem /usr/include/ntfs-3g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral -Wconversion \
	   -Wmissing-prototypes
# CI (CI=true, as .ci/run runs) makes every warning an error.
ifeq ($(CI),true)
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
LIBS    := -luuid -lz -ledit -lntfs-3g
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

FMT_SRC    := $(wildcard src/fmt/*.c)
IO_SRC     := $(wildcard src/io/*.c)
ENGINE_SRC := $(wildcard src/engine/*.c)
CLI_SRC    := $(wildcard src/cli/*.c)
LIB_SRC    := $(FMT_SRC) $(IO_SRC) $(ENGINE_SRC)
ALL_SRC    := $(LIB_SRC) $(CLI_SRC)
HDRS       := $(wildcard src/*/*.h tests/fuzz/*.h)

UNIT_SRC   := $(wildcard tests/unit/*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all check bench fuzz fuzz-long install uninstall deb clean deps demo demo-host kb golden-update clang-warnings
.SECONDARY:

all: bin/gptmirror bin/diskpart bin/bootcfg bin/gptmirror-loader.efi

# DEPS_CMD=true skips it (the Debian build: its Build-Depends are there).
DEPS_CMD ?= scripts/install-deps
deps:
	@$(DEPS_CMD)

# --- normal build -----------------------------------------------------------
build/rel/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

bin/gptmirror: $(patsubst %.c,build/rel/%.o,$(ALL_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

bin/diskpart bin/bootcfg: | bin/gptmirror
	ln -sf gptmirror $@

# --- the test loader (an x64 EFI application, Debian's gnu-efi) -------------
EFI_INC  := /usr/include/efi
EFI_LIB  := /usr/lib
EFI_CFLAGS := -I$(EFI_INC) -I$(EFI_INC)/x86_64 -fpic -ffreestanding \
	-fno-stack-protector -fno-stack-check -fshort-wchar -mno-red-zone \
	-maccumulate-outgoing-args -DEFI_FUNCTION_WRAPPER -O2 -Wall -Wextra \
	-Wno-unused-parameter

# The loader carries the NTFS reader the emulated boot uses (no C library).
build/efi/loader.so: efi/loader.c src/fmt/ntfsfind.c src/fmt/ntfsfind.h src/fmt/bytes.h | deps
	@mkdir -p $(dir $@)
	gcc $(EFI_CFLAGS) -c efi/loader.c -o build/efi/loader.o
	gcc $(EFI_CFLAGS) -c src/fmt/ntfsfind.c -o build/efi/ntfsfind.o
	ld -nostdlib -znocombreloc -T $(EFI_LIB)/elf_x86_64_efi.lds -shared \
		-Bsymbolic -L$(EFI_LIB) $(EFI_LIB)/crt0-efi-x86_64.o build/efi/loader.o \
		build/efi/ntfsfind.o -o $@ -lefi -lgnuefi

bin/gptmirror-loader.efi: build/efi/loader.so
	@mkdir -p bin
	objcopy -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym \
		-j .rel -j .rela -j .rel.* -j .rela.* -j .reloc \
		--target efi-app-x86_64 --subsystem=10 $< $@

# --- sanitizer build and tests ----------------------------------------------
build/san/%.o: %.c $(HDRS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -c $< -o $@

build/san/bin/gptmirror: $(patsubst %.c,build/san/%.o,$(ALL_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)
	ln -sf gptmirror build/san/bin/diskpart
	ln -sf gptmirror build/san/bin/bootcfg

build/san/unit_tests: $(patsubst %.c,build/san/%.o,$(UNIT_SRC) $(LIB_SRC) src/cli/out.c)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

build/san/fuzz_%_replay: build/san/tests/fuzz/fuzz_%.o build/san/tests/fuzz/replay.o $(patsubst %.c,build/san/%.o,$(LIB_SRC))
	$(CC) $(SAN) -o $@ $^ $(LIBS)

build/imgtool: tests/tools/imgtool.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -o $@ $<

# Every source through clang as well, with the same warnings (gcc builds
# the binaries): warning-free on both.
clang-warnings: | deps
	@for f in $(ALL_SRC) $(UNIT_SRC) tests/tools/imgtool.c $(wildcard tests/fuzz/*.c); do \
		clang $(CSTD) $(WARN) -fsyntax-only $$f || exit 1; \
	done

check: clang-warnings build/san/bin/gptmirror build/san/unit_tests build/imgtool bin/gptmirror bin/gptmirror-loader.efi $(foreach f,$(FUZZ_NAMES),build/san/fuzz_$(f)_replay)
	@GPTMIRROR_BIN=$(CURDIR)/build/san/bin/gptmirror \
	 IMGTOOL=$(CURDIR)/build/imgtool \
	 LOADER_EFI=$(CURDIR)/bin/gptmirror-loader.efi \
	 UNIT_TESTS=$(CURDIR)/build/san/unit_tests \
	 FUZZ_REPLAYS="$(foreach f,$(FUZZ_NAMES),$(f):$(CURDIR)/build/san/fuzz_$(f)_replay)" \
	 tests/run.sh

golden-update: build/san/bin/gptmirror build/imgtool bin/gptmirror-loader.efi
	@GOLDEN_UPDATE=1 GPTMIRROR_BIN=$(CURDIR)/build/san/bin/gptmirror \
	 LOADER_EFI=$(CURDIR)/bin/gptmirror-loader.efi \
	 IMGTOOL=$(CURDIR)/build/imgtool TESTS=scenarios tests/run.sh

# --- the main job ---------------------------------------------------------------
demo: all
	@scripts/demo.sh $(CURDIR)/bin/gptmirror

# The KB typed literally, each answer against the KB's text (README: "Where
# the KB contradicts itself").
kb: all
	@scripts/kb-replay.sh $(CURDIR)/bin/gptmirror

# The KB on a real kernel and real firmware: a Linux guest under OVMF.
demo-host: all
	@scripts/demo-host.sh $(CURDIR)/bin/gptmirror

# --- fuzzing (clang + libFuzzer) ---------------------------------------------
fuzz: $(foreach f,$(FUZZ_NAMES),build/fuzz/fuzz_$(f))

# Every target for FUZZ_SECONDS each, from its committed corpus (new inputs
# go to build/fuzz/corpus-NAME); prints executions and stops on a crash.
FUZZ_SECONDS ?= 60
fuzz-long: fuzz
	@for f in $(FUZZ_NAMES); do \
		mkdir -p build/fuzz/corpus-$$f; \
		build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus-$$f tests/fuzz/corpus-$$f >build/fuzz/$$f.log 2>&1 || \
			{ echo "fuzz_$$f: CRASH, see build/fuzz/$$f.log"; exit 1; }; \
		echo "fuzz_$$f: $$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$$f.log) executions in $(FUZZ_SECONDS) s, 0 crashes"; \
	done

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRC) $(HDRS) | deps
	@mkdir -p $(dir $@)
	clang $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $< $(LIB_SRC) $(LIBS)

# --- benchmarks -------------------------------------------------------------
bench: bin/gptmirror
	@bench/run.sh $(CURDIR)/bin/gptmirror

# --- install ----------------------------------------------------------------
BINDIR  := $(DESTDIR)$(PREFIX)/bin
DATADIR := $(DESTDIR)$(PREFIX)/share/gptmirror
MANDIR  := $(DESTDIR)$(PREFIX)/share/man/man8
COMPDIR := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
MANS    := gptmirror diskpart bootcfg

install: all
	install -d $(BINDIR) $(DATADIR) $(MANDIR) $(COMPDIR)
	install -m 755 bin/gptmirror $(BINDIR)/gptmirror
	ln -sf gptmirror $(BINDIR)/diskpart
	ln -sf gptmirror $(BINDIR)/bootcfg
	install -m 644 bin/gptmirror-loader.efi $(DATADIR)/gptmirror-loader.efi
	for p in $(MANS); do install -m 644 man/$$p.8 $(MANDIR)/$$p.8 || exit 1; done
	install -m 644 completion/gptmirror.bash $(COMPDIR)/gptmirror
	ln -sf gptmirror $(COMPDIR)/diskpart
	ln -sf gptmirror $(COMPDIR)/bootcfg

uninstall:
	rm -f $(BINDIR)/gptmirror $(BINDIR)/diskpart $(BINDIR)/bootcfg
	rm -f $(DATADIR)/gptmirror-loader.efi
	-rmdir $(DATADIR) 2>/dev/null
	for p in $(MANS); do rm -f $(MANDIR)/$$p.8; done
	rm -f $(COMPDIR)/gptmirror $(COMPDIR)/diskpart $(COMPDIR)/bootcfg

deb:
	dpkg-buildpackage -us -uc -b

clean:
	rm -rf build bin
