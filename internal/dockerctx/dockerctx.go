package dockerctx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Default is the context the CLI builds from the environment (DOCKER_HOST,
// else the local socket); it is never in the store.
const Default = "default"

// DefaultHost is the engine of the default context without DOCKER_HOST.
const DefaultHost = "unix:///var/run/docker.sock"

// Context is one Docker context's docker endpoint.
type Context struct {
	Name          string
	Description   string
	Host          string // the engine's address: unix:///..., tcp://host:port, ssh://...
	SkipTLSVerify bool
	// TLS material the context carries (contexts/tls/<digest>/docker/),
	// each path "" when absent.
	CAFile, CertFile, KeyFile string
	Store                     string // the config directory it was read from
}

// Local reports whether the engine is on this host: a unix socket.
func (c Context) Local() bool { return strings.HasPrefix(c.Host, "unix://") }

// TLS reports whether the context carries TLS material.
func (c Context) TLS() bool { return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" }

// ConfigDir is the Docker CLI's configuration directory: $DOCKER_CONFIG,
// else ~/.docker.
func ConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// digest is the directory name of a context in the store.
func digest(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:])
}

// NotFoundError is a context name the store does not hold.
type NotFoundError struct {
	Name  string
	Store string
	Known []string // the names the store holds, sorted, "default" first
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("docker context %q not found in %s; contexts there: %s", e.Name, e.Store, strings.Join(e.Known, ", "))
}

// ErrNoDockerEndpoint is a context without a docker endpoint.
var ErrNoDockerEndpoint = errors.New("has no docker endpoint")

// meta is meta.json as the CLI writes it.
type meta struct {
	Name      string
	Metadata  struct{ Description string }
	Endpoints map[string]json.RawMessage
}

type dockerEndpoint struct {
	Host          string
	SkipTLSVerify bool
}

// Load reads the named context from the store in dir (ConfigDir() when
// ""). "default" is DOCKER_HOST, else DefaultHost, with DOCKER_CERT_PATH's
// TLS material when DOCKER_TLS_VERIFY is set, as for the CLI.
func Load(dir, name string) (Context, error) {
	if dir == "" {
		dir = ConfigDir()
	}
	if name == Default {
		c := Context{Name: Default, Description: "DOCKER_HOST or the local socket", Host: os.Getenv("DOCKER_HOST"), Store: dir}
		if c.Host == "" {
			c.Host = DefaultHost
		}
		if p := os.Getenv("DOCKER_CERT_PATH"); p != "" && os.Getenv("DOCKER_TLS_VERIFY") != "" {
			c.CAFile, c.CertFile, c.KeyFile = filepath.Join(p, "ca.pem"), filepath.Join(p, "cert.pem"), filepath.Join(p, "key.pem")
		}
		return c, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", digest(name), "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		known, lerr := List(dir)
		if lerr != nil {
			return Context{}, lerr
		}
		return Context{}, &NotFoundError{Name: name, Store: dir, Known: known}
	}
	if err != nil {
		return Context{}, fmt.Errorf("docker context %q: %w", name, err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Context{}, fmt.Errorf("docker context %q: %s: %w", name, filepath.Join(dir, "contexts", "meta", digest(name), "meta.json"), err)
	}
	raw, ok := m.Endpoints["docker"]
	var ep dockerEndpoint
	if ok {
		if err := json.Unmarshal(raw, &ep); err != nil {
			return Context{}, fmt.Errorf("docker context %q: its docker endpoint: %w", name, err)
		}
	}
	if ep.Host == "" {
		return Context{}, fmt.Errorf("docker context %q %w", name, ErrNoDockerEndpoint)
	}
	if u, err := url.Parse(ep.Host); err != nil || u.Scheme == "" {
		return Context{}, fmt.Errorf("docker context %q: its docker endpoint %q is not a URL (unix://, tcp://, ssh://)", name, ep.Host)
	}
	c := Context{Name: name, Description: m.Metadata.Description, Host: ep.Host, SkipTLSVerify: ep.SkipTLSVerify, Store: dir}
	tls := filepath.Join(dir, "contexts", "tls", digest(name), "docker")
	for file, p := range map[string]*string{"ca.pem": &c.CAFile, "cert.pem": &c.CertFile, "key.pem": &c.KeyFile} {
		if _, err := os.Stat(filepath.Join(tls, file)); err == nil {
			*p = filepath.Join(tls, file)
		}
	}
	return c, nil
}

// List names the contexts of the store in dir (ConfigDir() when ""):
// "default" first, then the store's, sorted.
func List(dir string) ([]string, error) {
	if dir == "" {
		dir = ConfigDir()
	}
	ents, err := os.ReadDir(filepath.Join(dir, "contexts", "meta"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("docker contexts: %w", err)
	}
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m meta
		if json.Unmarshal(b, &m) == nil && m.Name != "" && m.Name != Default {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return append([]string{Default}, names...), nil
}
