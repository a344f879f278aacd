package dockerctx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// pemFiles writes a self-signed certificate and its key (for the CA, cert
// and key a TLS context carries).
func pemFiles(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "engine"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// writeContext writes a context in the documented format (what `docker
// context create` writes), for hosts without the CLI.
func writeContext(t *testing.T, dir, name string, endpoints map[string]any, tls map[string]string) {
	t.Helper()
	d := filepath.Join(dir, "contexts", "meta", digest(name))
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"Name": name, "Metadata": map[string]any{"Description": "made by hand"}, "Endpoints": endpoints})
	if err := os.WriteFile(filepath.Join(d, "meta.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	for file, src := range tls {
		td := filepath.Join(dir, "contexts", "tls", digest(name), "docker")
		if err := os.MkdirAll(td, 0o700); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(td, file), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// store makes a context store with a unix context "zone-b" and a TLS one
// "zone-c" (skip-tls-verify), by the real `docker context create` when the
// CLI is on PATH, else in the documented format; cli says which.
func store(t *testing.T) (dir string, cli bool) {
	dir = t.TempDir()
	cert, key := pemFiles(t, t.TempDir())
	if docker, err := exec.LookPath("docker"); err == nil {
		for _, args := range [][]string{
			{"context", "create", "zone-b", "--description", "second engine", "--docker", "host=unix:///run/lab-test-b.sock"},
			{"context", "create", "zone-c", "--docker", "host=tcp://10.0.0.3:2376,ca=" + cert + ",cert=" + cert + ",key=" + key + ",skip-tls-verify=true"},
		} {
			cmd := exec.Command(docker, append([]string{"--config", dir}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("docker %v: %v\n%s", args, err, out)
			}
		}
		return dir, true
	}
	writeContext(t, dir, "zone-b", map[string]any{"docker": map[string]any{"Host": "unix:///run/lab-test-b.sock", "SkipTLSVerify": false}}, nil)
	writeContext(t, dir, "zone-c", map[string]any{"docker": map[string]any{"Host": "tcp://10.0.0.3:2376", "SkipTLSVerify": true}},
		map[string]string{"ca.pem": cert, "cert.pem": cert, "key.pem": key})
	return dir, false
}

// TestLoadContexts reads contexts as the CLI wrote them: the endpoint, its
// TLS material, and the list of names.
func TestLoadContexts(t *testing.T) {
	dir, cli := store(t)
	t.Logf("store made by the docker CLI: %v", cli)
	b, err := Load(dir, "zone-b")
	if err != nil {
		t.Fatal(err)
	}
	if b.Host != "unix:///run/lab-test-b.sock" || !b.Local() || b.TLS() || b.SkipTLSVerify || (cli && b.Description != "second engine") {
		t.Errorf("zone-b = %+v", b)
	}
	c, err := Load(dir, "zone-c")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "tcp://10.0.0.3:2376" || c.Local() || !c.SkipTLSVerify || c.CAFile == "" || c.CertFile == "" || c.KeyFile == "" {
		t.Errorf("zone-c = %+v", c)
	}
	for _, f := range []string{c.CAFile, c.CertFile, c.KeyFile} {
		if b, err := os.ReadFile(f); err != nil || len(b) == 0 {
			t.Errorf("TLS file %s: %v", f, err)
		}
	}
	names, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"default", "zone-b", "zone-c"}; !reflect.DeepEqual(names, want) {
		t.Errorf("List = %v, want %v", names, want)
	}
}

// TestLoadProblems: an unknown name lists the contexts there are; a
// context without a docker endpoint says so; default is DOCKER_HOST.
func TestLoadProblems(t *testing.T) {
	dir, _ := store(t)
	_, err := Load(dir, "zone-z")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.Known, []string{"default", "zone-b", "zone-c"}) {
		t.Fatalf("unknown context: %v", err)
	}
	if want := `docker context "zone-z" not found in ` + dir + `; contexts there: default, zone-b, zone-c`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	writeContext(t, dir, "k8s-only", map[string]any{"kubernetes": map[string]any{"Host": "https://10.0.0.9:6443"}}, nil)
	if _, err := Load(dir, "k8s-only"); !errors.Is(err, ErrNoDockerEndpoint) {
		t.Errorf("a context without a docker endpoint: %v", err)
	}
	t.Setenv("DOCKER_HOST", "unix:///run/other.sock")
	if d, err := Load(dir, Default); err != nil || d.Host != "unix:///run/other.sock" {
		t.Errorf("default with DOCKER_HOST: %+v %v", d, err)
	}
	t.Setenv("DOCKER_HOST", "")
	if d, err := Load(dir, Default); err != nil || d.Host != DefaultHost {
		t.Errorf("default: %+v %v", d, err)
	}
	if got, err := List(t.TempDir()); err != nil || !reflect.DeepEqual(got, []string{"default"}) {
		t.Errorf("an empty store lists %v %v", got, err)
	}
}
