#!/usr/bin/env bash
# Makes a development CA and a certificate per Raft peer for mutual TLS between peers, with the openssl command line
# only. For development and tests: the CA key sits unencrypted next to the certificates. Every certificate this CA
# signs can take part in the cluster under the name it carries (docs/security.md): sign nothing else with it.
#
#   ./scripts/make-certs.sh DIR NAME...           DIR/ca.pem + ca.key, then DIR/NAME.pem + NAME.key for each NAME
#   ./scripts/make-certs.sh --force DIR NAME...   also replace NAME.pem/NAME.key that already exist
#   ./scripts/make-certs.sh --client ROLE DIR NAME...
#                                                 client certificates for the key-value server's HTTPS API
#                                                 (kv_server --http-client-ca DIR/ca.pem): CN=NAME, O=ROLE, where
#                                                 ROLE is read, write or admin; clientAuth only and no
#                                                 subjectAltName, so they cannot act as a peer
#
# e.g. ./scripts/make-certs.sh certs node-1 node-2 node-3
#      ./scripts/make-certs.sh --client admin client-certs operator   (a CA of its own: not the peers')
# The CA (EC P-256, 10 years) is made once and reused while DIR/ca.pem and DIR/ca.key exist, so a node added later
# is signed by the CA the others already trust. Each leaf is EC P-256, valid 825 days, with CN=NAME and
# subjectAltName DNS:NAME only (a peer's identity is that one name), and extendedKeyUsage serverAuth,clientAuth: a peer's certificate serves both its server and its client side.
set -euo pipefail
usage() { echo "usage: $0 [--force] [--client read|write|admin] DIR NAME..." >&2; exit 2; }
force=0
role=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1; shift ;;
    --client)
      [ $# -ge 2 ] || usage
      case "$2" in read|write|admin) role=$2 ;; *) echo "$0: --client takes read, write or admin" >&2; exit 2 ;; esac
      shift 2 ;;
    --*) usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
dir=$1
shift
for name in "$@"; do
  # The name becomes a file name and a DNS name in an extension config: keep it to hostname characters.
  if ! [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || [ "$name" = ca ]; then
    echo "$0: bad name '$name' (letters, digits, '.' and '-'; not 'ca')" >&2
    exit 2
  fi
done

# Only what this script asks for goes into the certificates, whatever the local openssl.cnf adds by default.
export OPENSSL_CONF=/dev/null
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

# openssl chatters on stderr even when it succeeds; show it only when it fails.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    return 1
  fi
}

# Files are made under temporary names and renamed into place, so an interrupted run leaves no key without its cert.
tmp=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -f "$dir/ca.pem" ] && [ -f "$dir/ca.key" ]; then
  echo "using $dir/ca.pem (existing CA)"
elif [ -e "$dir/ca.pem" ] || [ -e "$dir/ca.key" ]; then
  echo "$0: only one of $dir/ca.pem and $dir/ca.key exists; remove it or restore the other" >&2
  exit 1
else
  quiet openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -sha256 -days 3650 \
    -subj "/CN=raftkit development ${role:+client }CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=keyid:always"
  chmod 600 "$tmp/ca.key"
  chmod 644 "$tmp/ca.pem"
  mv "$tmp/ca.key" "$dir/ca.key"
  echo "made $dir/ca.key"
  mv "$tmp/ca.pem" "$dir/ca.pem"
  echo "made $dir/ca.pem"
fi

for name in "$@"; do
  if [ "$force" -eq 0 ] && { [ -e "$dir/$name.pem" ] || [ -e "$dir/$name.key" ]; }; then
    echo "kept $dir/$name.pem and $dir/$name.key (--force to replace)"
    continue
  fi
  if [ -n "$role" ]; then
    subject="/CN=$name/O=$role"
    usage_ext=("extendedKeyUsage=clientAuth")
  else
    subject="/CN=$name"
    usage_ext=("extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$name")
  fi
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -subj "$subject" \
    -keyout "$tmp/$name.key" -out "$tmp/$name.csr"
  quiet openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 -out "$tmp/$name.pem" -extfile <(
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "${usage_ext[@]}" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always")
  chmod 600 "$tmp/$name.key"
  chmod 644 "$tmp/$name.pem"
  mv "$tmp/$name.key" "$dir/$name.key"
  echo "made $dir/$name.key"
  mv "$tmp/$name.pem" "$dir/$name.pem"
  echo "made $dir/$name.pem"
done
