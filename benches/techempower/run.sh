#!/usr/bin/env bash
# The framework comparison the performance guide names (`cd benches/techempower && ./run.sh`):
# the TechEmpower-style workloads of ../compare/run.sh. Same environment variables.
exec "$(dirname "$0")/../compare/run.sh" "$@"
