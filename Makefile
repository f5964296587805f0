# Convenience targets; each calls the script the README documents.
.PHONY: run test bench bench-webdis
run:
	./scripts/start.sh
test:
	./scripts/test.sh
# Every benchmark: storegate vs Webdis and nginx first, then the rest (docs/benchmarks.md).
bench:
	./scripts/bench.sh
# Only storegate vs Webdis and nginx (STOREGATE_BENCH_QUICK=1 for a smoke test).
bench-webdis:
	./scripts/bench/vs-webdis.sh
