# bpf-storage-defer: the patch series and the suite that proves it.
#
#   make test      host unit tests, then the suite and the tree's own selftests
#                  (selftests/set) on the patched kernel in QEMU
#   make selftests the tree's own selftests on the patched kernel
#   make selftests-compare  the same on base and patched: the difference table
#   make check     host unit tests only (splat scanner)
#   make vmtest    the suite on the patched kernel (same as ./vmtest.sh)
#   make mutants   prove the tests catch the wrong variants in patches/mutants/
#   make bench     base vs patched benchmarks: table, JSON and plot
#   make soak      every reproducer at once under NMIs, 60 s per vCPU count
#                  (not in CI): figures and checks
#
# The tests themselves (progs/, prog_tests/) are built by the kernel tree's
# own selftests Makefiles: scripts/overlay-selftests.sh puts them there.

.PHONY: all test check vmtest selftests selftests-compare mutants bench soak clean
all: vmtest

# Dependencies and the base tree first, so that the unit tests that need
# them (git send-email round trip) run instead of skipping on a new machine.
test:
	scripts/install-deps.sh
	scripts/fetch-kernel.sh >/dev/null
	$(MAKE) check
	scripts/test-all.sh

selftests:
	./vmtest.sh --selftests

selftests-compare:
	scripts/selftests-compare.sh

check:
	python3 -m unittest discover -s scripts/tests

vmtest:
	./vmtest.sh

# Build each deliberately wrong kernel in patches/mutants/ and check that the
# test it names fails on it. RUNS=N repeats each run (races are caught by chance).
# Base vs patched benchmarks (bench config, alternating rounds): a table,
# bench.json and bench.png under $VMTEST_CACHE/bench/.
bench:
	scripts/bench.sh

# Every reproducer at once for SOAK_SECS (60) under SOAK_NMI_RATE (1500)
# injected NMIs/s, once per vCPU count in SOAK_SMP ("2 4"); not in CI.
soak:
	scripts/soak.sh

RUNS ?= 1
mutants:
	scripts/run-mutants.sh $(RUNS)

# Mail the series in patches/ to bpf@vger.kernel.org: a dry run that prints
# To/Cc per patch (scripts/series.sh send). SEND_ARGS="--send" sends for real
# (needs your sendemail.smtpServer config); SEND_ARGS="-v 2" for a v2.
.PHONY: send-email
send-email:
	scripts/series.sh send $(SEND_ARGS)

clean:
	@echo "build outputs live in $${VMTEST_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/bpf-storage-defer}; remove that directory to start cold"
