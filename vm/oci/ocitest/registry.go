// Package ocitest runs a real OCI registry for tests and benchmarks:
// Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1, with its
// own config, storage folder and an htpasswd user.
package ocitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Binary is the registry Debian's docker-registry package installs.
const Binary = "/usr/bin/docker-registry"

// The user the registry lets in.
const (
	User     = "vivarium"
	Password = "s3cret-pass"
)

// Registry is a running registry.
type Registry struct {
	Host string // 127.0.0.1:PORT
	Dir  string // its storage and config
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Require starts a registry for the test and stops it at the end. The
// registry binary is a test dependency (scripts/deps.sh installs it).
func Require(t testing.TB) *Registry {
	t.Helper()
	r, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Start runs a registry with its storage and config in dir.
func Start(ctx context.Context, dir string) (*Registry, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("%s is missing: install Debian's docker-registry package (scripts/deps.sh test)", Binary)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(User+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: vivarium-test-secret
auth:
  htpasswd:
    realm: vivarium-test
    path: %s
`, filepath.Join(dir, "storage"), host, htpasswd)
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Dir: dir, log: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(Binary, "serve", configPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", Binary, err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("the registry exited: %s", r.log.String())
		case <-ctx.Done():
			r.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("the registry did not answer on %s: %s", host, r.log.String())
		}
	}
}

// Stop ends the registry.
func (r *Registry) Stop() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.done
	}
}

// Log is what the registry printed.
func (r *Registry) Log() string { return r.log.String() }

var blobGetRE = regexp.MustCompile(`"GET /v2/([^ ]+)/blobs/(sha256:[0-9a-f]{64}) HTTP/[0-9.]+" 200 `)

// BlobGets counts, from the registry's access log, the successful blob
// downloads of repo since mark (a length of Log).
func (r *Registry) BlobGets(repo string, mark int) map[string]int {
	got := map[string]int{}
	log := r.Log()
	if mark > len(log) {
		mark = len(log)
	}
	for _, m := range blobGetRE.FindAllStringSubmatch(log[mark:], -1) {
		if m[1] == repo {
			got[m[2]]++
		}
	}
	return got
}

// DockerConfig writes a Docker config file in dir that logs the registry
// user in to each host with password, and returns dir, for DOCKER_CONFIG.
func DockerConfig(dir, password string, hosts ...string) (string, error) {
	auths := map[string]map[string]string{}
	for _, h := range hosts {
		auths[h] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(User + ":" + password))}
	}
	data, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("no TCP port")
	}
	return addr.Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
