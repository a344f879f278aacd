// Package dockerctx reads the Docker CLI's context store the way the docker
// CLI does, without the Docker SDK: the config directory ($DOCKER_CONFIG,
// else ~/.docker), each context's metadata at
// contexts/meta/<sha256 of its name>/meta.json (its docker endpoint's Host
// and SkipTLSVerify) and its TLS material under
// contexts/tls/<sha256 of its name>/docker/{ca,cert,key}.pem. The context
// named "default" is not in the store: it is DOCKER_HOST (or the local
// socket), as for the CLI. sim/az/docker turns a Context into a client;
// stack checks that a zone's docker_context exists.
package dockerctx
