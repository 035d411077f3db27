package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/vivarium-vm/vivarium/vm"
)

// Sentinel errors; the text around them says what to do.
var (
	// ErrUnauthorized means the registry refused the credentials (or asked
	// for some and had none).
	ErrUnauthorized = errors.New("the registry refused access")
	// ErrNotFound means the registry has no image of that reference.
	ErrNotFound = errors.New("no such image")
	// ErrNotAVM means the image is not a VM in Tart's or Vivarium's format.
	ErrNotAVM = errors.New("the image is not a VM")
	// ErrUnreachable means the registry could not be reached.
	ErrUnreachable = errors.New("cannot reach the registry")
)

// Options tune a push or pull. The zero value works.
type Options struct {
	// Insecure talks plain HTTP to the registry: only for registries a
	// person names with --insecure (a test registry on localhost, say).
	Insecure bool
	// Credentials is where user names and passwords come from; nil means
	// Docker's config file and its credential helpers.
	Credentials credentials.Store
	// Concurrency bounds how many chunks go up or down at once (default 4).
	Concurrency int
	// ChunkSize is how much of a disk one layer holds (push only; default
	// DefaultChunkSize).
	ChunkSize int64
	// Progress, when set, hears bytes done out of a total: of the disks
	// read for a push, of compressed chunks downloaded for a pull.
	Progress vm.Progress
	// Transport, when set, carries the HTTP requests (tests count them).
	Transport http.RoundTripper
}

func (o Options) concurrency() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return 4
}

// DockerCredentials is the credential store Docker, oras and skopeo users
// already have: ~/.docker/config.json ($DOCKER_CONFIG) with its credential
// helpers (the macOS keychain, pass, secretservice). Passwords are stored
// in the file itself only when no helper is set up, as `docker login` does.
func DockerCredentials() (credentials.Store, error) {
	s, err := credentials.NewStoreFromDocker(credentials.StoreOptions{AllowPlaintextPut: true, DetectDefaultNativeStore: true})
	if err != nil {
		return nil, fmt.Errorf("reading Docker's credentials (~/.docker/config.json): %w", err)
	}
	return s, nil
}

// target is a parsed image reference and its repository.
type target struct {
	ref  registry.Reference
	repo *remote.Repository
	// hadCredentials says whether the store had some for the registry, to
	// tell "wrong password" from "log in first".
	hadCredentials bool
	// loggingIn says the credentials are the ones being tried by Login.
	loggingIn bool
}

// ParseReference checks an image reference (REGISTRY/REPO[:TAG|@DIGEST]);
// without a tag it means :latest.
func ParseReference(s string) (registry.Reference, error) {
	ref, err := registry.ParseReference(s)
	if err != nil || !strings.Contains(ref.Registry, ".") && !strings.Contains(ref.Registry, ":") && ref.Registry != "localhost" {
		return registry.Reference{}, fmt.Errorf("%q is not an image reference; write REGISTRY/REPOSITORY:TAG, for example ghcr.io/cirruslabs/macos-sequoia-base:latest", s)
	}
	if ref.Reference == "" {
		ref.Reference = "latest"
	}
	return ref, nil
}

func connect(ctx context.Context, s string, opts Options) (*target, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return nil, err
	}
	store := opts.Credentials
	if store == nil {
		if store, err = DockerCredentials(); err != nil {
			return nil, err
		}
	}
	repo, err := remote.NewRepository(ref.Registry + "/" + ref.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	repo.PlainHTTP = opts.Insecure
	repo.Client = authClient(store, opts.Transport)
	t := &target{ref: ref, repo: repo}
	if cred, err := store.Get(ctx, credentials.ServerAddressFromRegistry(ref.Registry)); err == nil && cred != auth.EmptyCredential {
		t.hadCredentials = true
	}
	return t, nil
}

func authClient(store credentials.Store, transport http.RoundTripper) *auth.Client {
	base := &http.Client{Transport: retry.NewTransport(transport)}
	if transport == nil {
		base = retry.DefaultClient
	}
	c := &auth.Client{Client: base, Cache: auth.NewCache(), Credential: credentials.Credential(store)}
	c.SetUserAgent("vivarium")
	return c
}

// explain turns a registry or network error into one sentence saying what
// to do.
func (t *target) explain(err error) error {
	if err == nil {
		return nil
	}
	host := t.ref.Registry
	var resp *errcode.ErrorResponse
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%s asks for a user name and password: %w; run 'vivarium login %s' first", host, ErrUnauthorized, host)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusUnauthorized:
		if t.loggingIn {
			return fmt.Errorf("%s refused this user name and password: %w; check them and try again", host, ErrUnauthorized)
		}
		if t.hadCredentials {
			return fmt.Errorf("%s refused the user name and password stored for it: %w; run 'vivarium login %s' with the right ones", host, ErrUnauthorized, host)
		}
		return fmt.Errorf("%s asks for a user name and password: %w; run 'vivarium login %s' first", host, ErrUnauthorized, host)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s does not let this account use %s: %w; check the repository's permissions", host, t.ref.Repository, ErrUnauthorized)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s has no image %s: %w; check the repository and tag", host, t.ref, ErrNotFound)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s speaks plain HTTP, not HTTPS: %w; add --insecure if you trust this registry", host, ErrUnreachable)
	case errors.As(err, &opErr), errors.As(err, &netErr):
		return fmt.Errorf("%s: %w (%v); check the address and your network", host, ErrUnreachable, err)
	}
	return err // the registry's own errors name their URL; local ones need no host
}

// Login checks user and password against the registry and stores them in
// store (Docker's, when nil). The password is never printed or logged.
func Login(ctx context.Context, registryHost, user, password string, opts Options) error {
	store := opts.Credentials
	if store == nil {
		var err error
		if store, err = DockerCredentials(); err != nil {
			return err
		}
	}
	reg, err := remote.NewRegistry(registryHost)
	if err != nil {
		return fmt.Errorf("%q is not a registry address; write a host name like ghcr.io or 127.0.0.1:5000", registryHost)
	}
	reg.PlainHTTP = opts.Insecure
	c := authClient(store, opts.Transport)
	reg.Client = c
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = credentials.Login(ctx, store, reg, auth.Credential{Username: user, Password: password})
	if err != nil {
		t := &target{ref: registry.Reference{Registry: registryHost}, loggingIn: true}
		return t.explain(err)
	}
	return nil
}

// Logout forgets the credentials stored for a registry.
func Logout(ctx context.Context, registryHost string, opts Options) error {
	store := opts.Credentials
	if store == nil {
		var err error
		if store, err = DockerCredentials(); err != nil {
			return err
		}
	}
	if err := credentials.Logout(ctx, store, registryHost); err != nil {
		return fmt.Errorf("forgetting the credentials of %s: %w", registryHost, err)
	}
	return nil
}
