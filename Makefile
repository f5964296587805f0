# Convenience targets; each calls the script the README documents.
.PHONY: run test bench
run:
	./scripts/start.sh
test:
	./scripts/test.sh
bench:
	./scripts/bench.sh
