package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/simplydone/lab/internal/dockerctx"
)

// A zone's engine may be named by a Docker CLI context (stack zones:
// docker_context, `lab agent --docker-context`): the engine that context's
// docker endpoint names, with its TLS material, read from the CLI's store
// (internal/dockerctx). "" is the environment's engine: DOCKER_HOST, else
// the local socket.

// contextClient connects to the engine the named context names ("": the
// environment's), speaking the highest API version both sides know.
func contextClient(name string) (*client.Client, error) {
	if name == "" {
		return newClient()
	}
	c, err := dockerctx.Load("", name)
	if err != nil {
		return nil, err
	}
	if name == dockerctx.Default {
		return newClient()
	}
	if strings.HasPrefix(c.Host, "ssh://") {
		return nil, fmt.Errorf("docker context %q: its endpoint %s is reached over ssh, through the docker CLI's connection helper, which the lab does not run; run `lab agent --docker-context` on that host instead", name, c.Host)
	}
	opts := []client.Opt{client.WithHost(c.Host), client.WithAPIVersionNegotiation()}
	if c.TLS() || c.SkipTLSVerify {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.SkipTLSVerify} //nolint:gosec // the context asks for it (docker context create --docker skip-tls-verify=true)
		if c.CAFile != "" {
			b, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("docker context %q: %w", name, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("docker context %q: %s holds no PEM certificate", name, c.CAFile)
			}
			cfg.RootCAs = pool
		}
		if c.CertFile != "" && c.KeyFile != "" {
			kp, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("docker context %q: its client certificate: %w", name, err)
			}
			cfg.Certificates = []tls.Certificate{kp}
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}),
			client.WithScheme("https"))
	}
	return client.NewClientWithOpts(opts...)
}

// Engine is what a zone's engine says of itself (lab doctor).
type Engine struct {
	Context string // the context name; "" the environment's engine
	Host    string // its endpoint
	Local   bool   // on this host (a unix socket)
	Version string // the engine's version
	API     string // the API version both sides agreed on
}

// Probe connects to the engine the named context names ("": the
// environment's) and asks its version. The Engine carries the endpoint
// even when the engine does not answer.
func Probe(ctx context.Context, contextName string) (Engine, error) {
	e := Engine{Context: contextName}
	cli, err := contextClient(contextName)
	if err != nil {
		return e, err
	}
	defer cli.Close()
	e.Host = cli.DaemonHost()
	e.Local = strings.HasPrefix(e.Host, "unix://")
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		return e, fmt.Errorf("no engine answers at %s: %w", e.Host, err)
	}
	e.Version, e.API = v.Version, cli.ClientVersion()
	return e, nil
}

// ReapEngines is Reap on the environment's engine and on every other
// engine on this host that a context of the Docker CLI's store names (a
// unix socket; each engine once): `lab down` does not know which stacks
// crashed, and a stack's zones may have run on any of them. Engines that
// do not answer are passed over; it returns how many containers it removed.
func ReapEngines(ctx context.Context, stateDir string, logger *slog.Logger) (int, error) {
	hosts := map[string]bool{}
	n, err := 0, error(nil)
	if cli, cerr := newClient(); cerr == nil {
		hosts[cli.DaemonHost()] = true
		cli.Close()
		if _, perr := Probe(ctx, ""); perr == nil {
			n, err = Reap(ctx, stateDir, logger)
		}
	}
	names, lerr := dockerctx.List("")
	if lerr != nil {
		return n, errors.Join(err, lerr)
	}
	errs := []error{err}
	for _, name := range names {
		c, cerr := dockerctx.Load("", name)
		if cerr != nil || !c.Local() || hosts[c.Host] {
			continue
		}
		hosts[c.Host] = true
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, perr := Probe(pctx, name)
		cancel()
		if perr != nil {
			continue
		}
		m, rerr := ReapContext(ctx, name, stateDir, logger)
		n += m
		if rerr != nil {
			errs = append(errs, fmt.Errorf("docker context %s: %w", name, rerr))
		}
	}
	return n, errors.Join(errs...)
}
