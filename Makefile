# tamanet: a Go unikernel network stack (TamaGo + e1000 + gVisor netstack).
#
#   make run     boot the unikernel in QEMU (builds everything it needs)
#   make test    host, port (GOOS=tamago under Linux) and QEMU tests
#   make bench   tamanet vs a Linux guest on the same QEMU e1000 (bench/README.md)
#   make record  file a bench run's summary as a dated note (bench/notes/)
#   make bench-go  the Go benchmarks of the packages
#
# Every Go command runs the pinned release; the GOOS=tamago toolchain is
# built once by toolchain/build.sh (or taken from TAMAGO=/path/to/bin/go).

export GOTOOLCHAIN := go1.27.3
export GOOSPKG := github.com/usbarmory/tamago

OUT := out
# The tamago amd64 package expects RAM from 0x10000000 and the image just
# above it.
TEXT_ADDR := 0x10010000
TAMAGO_LDFLAGS := -T $(TEXT_ADDR) -R 0x1000
MACHINE ?= pc
# NIC=e1000 (qemu.sh's default) or virtio for run, bench and soak, with
# optional QEMU device properties: NIC=virtio,mrg_rxbuf=off (qemu.sh -n).
# MACHINE=microvm needs NIC=virtio (it has no PCI).
NIC ?=
# ACCEL=auto|tcg|kvm for run, bench and soak alike; qemu.sh's header (-a)
# says how auto decides and why.
ACCEL ?= auto
# FIRMWARE=qboot (the default) boots through QEMU's qboot.rom, much faster
# than SeaBIOS (FIRMWARE=seabios); the unikernel assigns the PCI BARs itself.
FIRMWARE ?= qboot
# APP is the program made into an image (package unikernel): the benchmark
# unikernel by default, e.g. APP=./examples/kv for the example.
APP ?= ./cmd/tamanet
IMAGE := $(OUT)/$(notdir $(APP)).elf

# The tamago go command: TAMAGO from the environment, else our own port.
TAMAGO_GO = $(or $(TAMAGO),$(shell toolchain/build.sh | tail -n1))

.PHONY: all toolchain image run test tools race bench bench-go soak record clean vet

all: image

toolchain:
	@toolchain/build.sh

$(OUT):
	mkdir -p $(OUT)

# make image [APP=./cmd/tamanet]: out/NAME.elf
image: | $(OUT)
	@tamago="$(TAMAGO_GO)"; test -x "$$tamago" || { echo "no tamago go command"; exit 1; }; \
	set -x; GOOS=tamago GOARCH=amd64 "$$tamago" build -tags linkcpuinit -trimpath -ldflags "$(TAMAGO_LDFLAGS)" -o $(IMAGE) $(APP)

# make run [APP=./cmd/tamanet] [HTTP_PORT=8080] [ECHO_PORT=8007]
# [NAPI=napi|interrupt|busypoll] [BOOT="boot options"] [ADMIN=PORT]
# [FIRMWARE=seabios|qboot] [MACHINE=pc|q35|microvm] [NIC=e1000|virtio[,PROP=VAL...]]:
# host ports on 127.0.0.1 forwarded to the guest's HTTP (80) and echo (7); ADMIN=8081 opens the admin listener (the
# /debug/ routes: profiles, capture, trace) on guest port 8081, forwarded
# from 127.0.0.1:8081. Without it no port serves them.
run: image
	@echo "$(notdir $(APP)): http://127.0.0.1:$(or $(HTTP_PORT),8080)/ (/stats, /metrics and the app's routes); port 7 on 127.0.0.1:$(or $(ECHO_PORT),8007) tcp+udp;$(if $(ADMIN), admin http://127.0.0.1:$(ADMIN)/debug/pprof/,) Ctrl-A X quits"
	./qemu.sh -M $(MACHINE) -a $(ACCEL) -f $(FIRMWARE) $(if $(NIC),-n $(NIC)) -p $(or $(HTTP_PORT),8080) -e $(or $(ECHO_PORT),8007) $(if $(ADMIN),-F $(ADMIN):$(ADMIN)) $(if $(NAPI)$(BOOT)$(ADMIN),-k "$(strip $(if $(NAPI),napi=$(NAPI)) $(if $(ADMIN),admin=$(ADMIN)) $(BOOT))") $(IMAGE)

test: tools vet race
	@tamago="$(TAMAGO_GO)"; test -x "$$tamago" || { echo "no tamago go command"; exit 1; }; \
	TAMAGO="$$tamago" go test -count=1 -timeout 25m ./...

# The host tools the tests run (COMMAND PACKAGE pairs, Debian packages),
# installed in one apt-get run before any test process starts: parallel
# test packages must not race each other's apt (tamagotest.Tool fails,
# naming this target, when one is missing).
TEST_TOOLS := qemu-system-x86_64 qemu-system-x86 tshark tshark radvd radvd \
	dnsmasq dnsmasq-base promtool prometheus nft nftables
tools:
	@scripts/ensure-tool.sh $(TEST_TOOLS) >/dev/null

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@go mod tidy -diff >/dev/null || { go mod tidy -diff; echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	go vet ./...
	@tamago="$(TAMAGO_GO)"; set -x; GOOS=tamago GOARCH=amd64 GOTOOLCHAIN=local "$$tamago" vet -tags linkcpuinit ./...

# make bench [NIC=e1000|virtio] [MACHINE=pc|q35|microvm] [NET=auto|user|tap] [IPV6=1] [FIRMWARE=seabios|qboot] [ROUNDS=3]
# [MODE_ROUNDS=2] [OFFLOAD_ROUNDS=2] [JUMBO_ROUNDS=2] [TICK_ROUNDS=2] [FEATURE_ROUNDS=2] [CEILING_ROUNDS=1] [CEILING_SECONDS=5]
# [DURATION=3s] [WARMUP=1s] [IDLE=10s] [ACCEL=auto]: interleaved rounds of the unikernel
# and the Linux baseline (both on NIC), then the unikernel's variants (NAPI modes,
# offloads, MTU 9000, timer tick; with NIC=virtio each virtio-net feature
# off in turn), then the NIC's ceiling with no stack above it (tap only) and
# each transfer's share of it; ratio tables, JSON and plots go to
# bench/results/, the run's summary to its summary/ (see bench/README.md).
bench: image
	@NET=$(or $(NET),auto) FIRMWARE=$(FIRMWARE) ACCEL=$(ACCEL) NIC=$(NIC) MACHINE=$(MACHINE) bench/bench.sh $(OUT)/tamanet.elf

# make record RUN=bench/results/TIME NAME=what-it-shows: files the run's
# summary as bench/notes/DATE-NAME/ with a NOTE.md to finish by hand
# (bench/notes/README.md).
record:
	@test -n "$(RUN)" -a -n "$(NAME)" || { echo "usage: make record RUN=bench/results/TIME NAME=name"; exit 2; }
	@bench/record.sh $(RUN) $(NAME)

# make race: the data paths' concurrency tests under the race detector
# (descriptor write-backs read only after their status word, virtqueue
# indices, carrier updates against resets); make test runs it first.
race:
	go test -race -count=1 ./e1000/... ./napi/... ./virtio/...
	go test -race -count=1 -run 'TestCarrier|TestAttach' ./netif/ ./netstack/

# make soak [SOAK=10m] [NET=user|tap|auto] [ACCEL=auto] [NIC=e1000|virtio]: the unikernel under
# mixed load with a link flap every 30 s; fails if the heap or the goroutines
# grow, a checked byte is wrong or a request fails outside a flap
# (bench/soak.sh, which runs tamabench soak -image; report and plots under
# bench/results/soak-*).
soak: image
	@SOAK=$(or $(SOAK),10m) NET=$(or $(NET),user) ACCEL=$(ACCEL) NIC=$(NIC) bench/soak.sh $(OUT)/tamanet.elf

bench-go:
	@tamago="$(TAMAGO_GO)"; TAMAGO="$$tamago" go test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(OUT)
