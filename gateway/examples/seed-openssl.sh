#!/bin/sh
# The seed's certificate steps: an RSA-4096 CA quic-corp.com and an RSA-2048 leaf for
# httpbin.quic-corp.com, then the TLS Secret httpbin-credential. Without a cluster, the
# Secret is written as a manifest (`--dry-run=client -o yaml`) that `gateway run --config`
# reads, or the files are copied to <credentialDirectory>/httpbin-credential.crt/.key.
set -eu
openssl req -x509 -sha256 -nodes -days 365 -newkey rsa:4096 \
  -subj '/O=QUIC Corp/CN=quic-corp.com' \
  -keyout quic-corp.com.key -out quic-corp.com.crt
openssl req -out httpbin.quic-corp.com.csr -newkey rsa:2048 -nodes \
  -keyout httpbin.quic-corp.com.key \
  -subj "/CN=httpbin.quic-corp.com/O=httpbin organization"
openssl x509 -req -sha256 -days 365 -CA quic-corp.com.crt -CAkey quic-corp.com.key \
  -set_serial 0 -in httpbin.quic-corp.com.csr -out httpbin.quic-corp.com.crt
# (The leaf has only a CN, as in the seed: curl/OpenSSL accept it; rustls-based clients need
# a subjectAltName, which `gateway demo` certificates carry.)
if command -v kubectl >/dev/null; then
  kubectl create -n istio-system secret tls httpbin-credential \
    --key=httpbin.quic-corp.com.key --cert=httpbin.quic-corp.com.crt \
    --dry-run=client -o yaml > httpbin-credential.yaml
fi
mkdir -p credentials
cp httpbin.quic-corp.com.crt credentials/httpbin-credential.crt
cp httpbin.quic-corp.com.key credentials/httpbin-credential.key
