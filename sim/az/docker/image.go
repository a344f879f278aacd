package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"

	"github.com/simplydone/lab/internal/buildinfo"
	"github.com/simplydone/lab/sim/az"
)

// imageCache remembers which binaries were hashed and which tags are known
// to exist, so a launch neither rehashes an unchanged binary nor asks the
// engine again; one build per tag runs at a time.
type imageCache struct {
	mu     sync.Mutex
	hashes map[fileKey]string     // binary -> content tag
	ready  map[string]bool        // tags known to exist in the engine
	builds map[string]*sync.Mutex // one lock per tag
}

type fileKey struct {
	path  string
	size  int64
	mtime time.Time
}

func newImageCache() *imageCache {
	return &imageCache{hashes: map[fileKey]string{}, ready: map[string]bool{}, builds: map[string]*sync.Mutex{}}
}

// imageRef is the image and arguments a spec runs: Spec.Image with
// Command[1:] as arguments when given (the image's entrypoint is the
// program), else the content-tagged image of the binary Command[0] with
// Command[1:] as arguments.
type imageRef struct {
	tag  string
	args []string
	bin  string // the binary to build from; "" for a user image
}

func refFor(s az.Spec) (imageRef, error) {
	if img := s.Image; img != "" {
		var args []string
		if len(s.Command) > 1 {
			args = s.Command[1:]
		}
		return imageRef{tag: img, args: args}, nil
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		return imageRef{}, errors.New("spec has no command and no image")
	}
	bin, err := az.ResolveCommand(s.Command[0])
	if err != nil {
		return imageRef{}, err
	}
	return imageRef{bin: bin, args: s.Command[1:]}, nil
}

// EnsureImage makes sure the image a spec runs exists in the engine: it
// builds the content-tagged image of Spec.Command[0] if the engine lacks
// it, and checks that a named image (Spec.Image) is there,
// failing clearly when it is not; nothing is pulled.
func (r *Runtime) EnsureImage(ctx context.Context, s az.Spec) error {
	_, err := r.ensureImage(ctx, s)
	return err
}

func (r *Runtime) ensureImage(ctx context.Context, s az.Spec) (imageRef, error) {
	ref, err := refFor(s)
	if err != nil {
		return ref, err
	}
	c := r.images
	if ref.bin == "" {
		c.mu.Lock()
		ok := c.ready[ref.tag]
		c.mu.Unlock()
		if ok {
			return ref, nil
		}
		if _, err := r.cli.ImageInspect(ctx, ref.tag); err != nil {
			if cerrdefs.IsNotFound(err) {
				return ref, fmt.Errorf("image %q is not in the Docker engine; build or load it first (the lab pulls nothing)", ref.tag)
			}
			return ref, fmt.Errorf("inspect image %q: %w", ref.tag, err)
		}
		c.mu.Lock()
		c.ready[ref.tag] = true
		c.mu.Unlock()
		return ref, nil
	}
	ref.tag, err = c.tagOf(ref.bin)
	if err != nil {
		return ref, err
	}
	c.mu.Lock()
	lock := c.builds[ref.tag]
	if lock == nil {
		lock = &sync.Mutex{}
		c.builds[ref.tag] = lock
	}
	c.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	c.mu.Lock()
	ok := c.ready[ref.tag]
	c.mu.Unlock()
	if ok {
		return ref, nil
	}
	if _, err := r.cli.ImageInspect(ctx, ref.tag); err == nil {
		c.mu.Lock()
		c.ready[ref.tag] = true
		c.mu.Unlock()
		return ref, nil
	} else if !cerrdefs.IsNotFound(err) {
		return ref, fmt.Errorf("inspect image %q: %w", ref.tag, err)
	}
	start := time.Now()
	if err := r.build(ctx, ref.bin, ref.tag); err != nil {
		return ref, err
	}
	r.log.Info("built image", "image", ref.tag, "from", ref.bin, "took", time.Since(start).Round(time.Millisecond))
	c.mu.Lock()
	c.ready[ref.tag] = true
	c.mu.Unlock()
	return ref, nil
}

var tagUnsafe = regexp.MustCompile(`[^a-z0-9._-]+`)

// tagOf is lab/<binary name>:<first 12 hex digits of its sha256>, so an
// image is rebuilt only when the binary changes.
func (c *imageCache) tagOf(bin string) (string, error) {
	fi, err := os.Stat(bin)
	if err != nil {
		return "", fmt.Errorf("binary %s: %w", bin, err)
	}
	key := fileKey{bin, fi.Size(), fi.ModTime()}
	c.mu.Lock()
	tag, ok := c.hashes[key]
	c.mu.Unlock()
	if ok {
		return tag, nil
	}
	if err := checkStatic(bin); err != nil {
		return "", err
	}
	f, err := os.Open(bin)
	if err != nil {
		return "", fmt.Errorf("binary %s: %w", bin, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", bin, err)
	}
	name := strings.Trim(tagUnsafe.ReplaceAllString(strings.ToLower(filepath.Base(bin)), "-"), "-._")
	if name == "" {
		name = "app"
	}
	tag = "lab/" + name + ":" + hex.EncodeToString(h.Sum(nil))[:12]
	c.mu.Lock()
	c.hashes[key] = tag
	c.mu.Unlock()
	return tag, nil
}

// checkStatic refuses a dynamically linked ELF binary: an image FROM
// scratch has no loader and no libc.
func checkStatic(bin string) error {
	dynamic, err := buildinfo.Dynamic(bin)
	if err != nil {
		return fmt.Errorf("binary %s: not an ELF executable the image could run: %w", bin, err)
	}
	if dynamic {
		return fmt.Errorf("binary %s is dynamically linked; an image FROM scratch needs a static binary (build it with CGO_ENABLED=0)", bin)
	}
	return nil
}

// CheckImage says whether the engine has the named image (a launch
// template's image), before a run starts: the lab pulls nothing.
func CheckImage(ctx context.Context, name string) error {
	cli, err := newClient()
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer cli.Close()
	if _, err := cli.ImageInspect(ctx, name); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("image %q is not in the Docker engine; build or load it first (the lab pulls nothing)", name)
		}
		return fmt.Errorf("inspect image %q: %w", name, err)
	}
	return nil
}

// build builds tag FROM scratch with the binary as its entrypoint, from a
// build context made in memory.
func (r *Runtime) build(ctx context.Context, bin, tag string) error {
	buildCtx, err := buildContext(bin)
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	resp, err := r.cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, Dockerfile: "Dockerfile",
		Labels: map[string]string{"lab.image": "1"}, Version: build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	if err := buildResult(resp.Body); err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	return nil
}

// buildContext is a tar with the Dockerfile and the binary as /app.
func buildContext(bin string) (io.Reader, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	dockerfile := []byte("FROM scratch\nCOPY app /app\nUSER 65534:65534\nENTRYPOINT [\"/app\"]\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(0, 0)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"app", 0o755, data}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// buildResult reads the build's JSON message stream to its end and returns
// the error it reports, if any, with the last lines of output.
func buildResult(body io.Reader) error {
	dec := json.NewDecoder(body)
	var tail []string
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read build output: %w", err)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			tail = append(tail, s)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
		if m.Error != "" {
			return fmt.Errorf("%s (after: %s)", m.Error, strings.Join(tail, " | "))
		}
	}
}
