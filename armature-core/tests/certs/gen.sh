#!/usr/bin/env bash
# Made the TLS tests' certificates once (armature-core/tests/it/tls.rs); they are
# committed, valid for 100 years, so the tests need neither openssl nor a generator
# crate. Rerun only to replace them: `bash gen.sh` in this folder (OpenSSL 3).
#   ca.pem          a test CA (its key is thrown away)
#   a.pem, a.key    leaf "armature-test-a" (ECDSA P-256, PKCS#8 key), signed by the CA
#   b.pem, b.key    leaf "armature-test-b" (RSA 2048, PKCS#1 key), signed by the CA
# Both leaves name localhost and 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=armature test CA" -keyout "$tmp/ca.key" -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
leaf() { # name, key file already made
  openssl req -new -key "$1.key" -subj "/CN=armature-test-$1" -out "$tmp/$1.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial \
    -CAserial "$tmp/serial" -days $days -extfile "$tmp/$1.ext" -out "$1.pem"
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out a.key
leaf a
openssl genrsa -traditional -out b.key 2048
leaf b
