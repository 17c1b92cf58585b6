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
#
# vmtest.sh also calls `make progs` with the paths of a built kernel:
#   make progs KTREE=<kernel tree> TOOLS=<libbpf+bpftool dir> BTF=<vmlinux BTF> OUT=<dir>

.PHONY: all test check vmtest selftests selftests-compare mutants bench progs clean
all: vmtest

test: check
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

RUNS ?= 1
mutants:
	scripts/run-mutants.sh $(RUNS)

# ---- BPF programs, skeletons and the test runner (inside vmtest.sh) ----
CLANG ?= clang-19
BPFTOOL := $(TOOLS)/bpftool/bpftool
LIBBPF_A := $(TOOLS)/libbpf/libbpf.a
LIBBPF_INC := $(TOOLS)/libbpf/root/usr/include

BPF_SRCS := $(wildcard progs/*.c)
BPF_OBJS := $(patsubst progs/%.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst progs/%.c,$(OUT)/%.skel.h,$(BPF_SRCS))
RUNNER_SRCS := prog_tests/test_progs.c prog_tests/vmtest_nmi.c
TEST_SRCS := $(filter-out $(RUNNER_SRCS),$(wildcard prog_tests/*.c))

# Same include layout as selftests/bpf, so programs can use bpf_misc.h,
# bpf_experimental.h and scx/common.bpf.h unchanged.
BPF_CFLAGS := -g -O2 --target=bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall \
	-Wno-compare-distinct-pointer-types -Wno-missing-declarations \
	-I$(OUT) -Iprogs -I$(LIBBPF_INC) \
	-I$(KTREE)/tools/testing/selftests/bpf \
	-I$(KTREE)/tools/testing/selftests/bpf/progs \
	-I$(KTREE)/tools/sched_ext/include
CFLAGS := -g -O2 -Wall -Wno-unused-parameter -I$(OUT) -Iprog_tests -Iprogs -I$(LIBBPF_INC) \
	-I$(KTREE)/tools/sched_ext/include
LDLIBS := -static $(LIBBPF_A) -lelf -lz -lzstd -lpthread

.SECONDARY:
progs: $(OUT)/test_progs $(OUT)/bench

$(OUT)/vmlinux.h: $(BTF)
	@mkdir -p $(OUT)
	$(BPFTOOL) btf dump file $(BTF) format c > $@.tmp && mv $@.tmp $@

$(OUT)/%.bpf.o: progs/%.c $(OUT)/vmlinux.h $(wildcard progs/*.h)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

$(OUT)/tests.h: $(TEST_SRCS) prog_tests/gen_tests_h.sh
	@mkdir -p $(OUT)
	sh prog_tests/gen_tests_h.sh $(TEST_SRCS) > $@.tmp && mv $@.tmp $@

$(OUT)/test_progs: $(RUNNER_SRCS) $(TEST_SRCS) $(wildcard prog_tests/*.h) $(OUT)/tests.h $(SKELS) $(LIBBPF_A)
	$(CC) $(CFLAGS) $(RUNNER_SRCS) $(TEST_SRCS) -o $@ $(LDLIBS)

BENCH_SRCS := $(wildcard bench/*.c) prog_tests/vmtest_nmi.c
$(OUT)/bench: $(BENCH_SRCS) $(wildcard bench/*.h) $(OUT)/bench_local_storage.skel.h $(LIBBPF_A)
	$(CC) $(CFLAGS) -Ibench $(BENCH_SRCS) -o $@ $(LDLIBS) -lm

clean:
	@echo "build outputs live in $${VMTEST_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/bpf-storage-defer}; remove that directory to start cold"
