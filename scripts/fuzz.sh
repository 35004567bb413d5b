#!/usr/bin/env bash
# Longer fuzzing run of the same properties the test suite runs with few cases: every
# response decoder the client uses (tests/fuzz_decoders.rs), every file parser on mutated
# valid inputs (tests/fuzz_parsers.rs), the apply journal (tests/journal_corrupt.rs) and
# the library's never-panic properties (client.properties/JAAS, PEM, SASL/SCRAM).
# tests/formats_proptest.rs runs too, at the same count (256 per property when unset).
# Usage: scripts/fuzz.sh [CASES]   (default 100000 cases per property)
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
export PROPTEST_CASES="$cases"
echo "fuzz: $cases cases per property"
cargo test --release --test fuzz_decoders --test fuzz_parsers --test journal_corrupt --test formats_proptest
cargo test --release --lib -- proptests
