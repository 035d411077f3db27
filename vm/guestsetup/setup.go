package guestsetup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// ErrNotSetUp means guest setup has not been run for a VM.
var ErrNotSetUp = errors.New("the guest has not been set up")

// SSHPort is the guest's SSH port.
const SSHPort = 22

// FirstSSHForward is the first host port guest setup tries when it adds a
// forward to a QEMU guest's SSH port.
const FirstSSHForward = 2222

// KeyDir is the library's folder for Vivarium's own SSH key and its
// known_hosts file. It starts with a dot: the library lists only VMs.
func KeyDir(lib *vm.Library) string { return filepath.Join(lib.Root, ".ssh") }

// Record is what guest setup installed in a VM, kept in the VM's folder
// (vm.GuestSetupFile) for 'vivarium ssh'.
type Record struct {
	User     string `json:"user"`
	Identity string `json:"identity"` // the private key on the host
	HostKey  string `json:"host_key"` // the guest's public SSH host key
	Hostname string `json:"hostname"`
	// Seed is true when the setup went into the cloud-init seed, false
	// when it was given as a script to run by hand.
	Seed bool `json:"seed"`
}

// LoadRecord reads what guest setup installed in the VM in b.
func LoadRecord(b vm.Bundle) (*Record, error) {
	data, err := os.ReadFile(b.GuestSetupPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: set the guest up first ('vivarium guest-setup %s', or Set Up Guest… in the window)", b.Name(), ErrNotSetUp, b.Name())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vm.GuestSetupFile, err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w; run guest setup again to rewrite it", b.GuestSetupPath(), err)
	}
	return &r, nil
}

// Options adjust Run.
type Options struct {
	// User is the login name to create in the guest.
	User string
	// Home is the person's home folder, where their own SSH key is looked
	// for (.ssh/id_ed25519, id_ecdsa, id_rsa); without one, Vivarium makes
	// a key of its own in KeyDir.
	Home string
	// Script makes the setup a shell script to run by hand (Result.Script)
	// instead of a seed for the next boot.
	Script bool
}

// Result is what Run made.
type Result struct {
	Plan *Plan
	Key  Key
	// Seed is the seed image attached to the VM's next boots; empty when
	// Options.Script.
	Seed string
	// Script is the setup as one shell script (always set).
	Script string
	// AddedForward is the forward Run added to reach the guest's SSH
	// port ("2222:22"), or empty.
	AddedForward string
}

// Run sets up the VM called name: it finds or makes the person's SSH key,
// makes the guest's SSH host key, adds a forward to the guest's SSH port
// when a QEMU VM on NAT has none, and writes the seed (or the script) and
// the record. The guest applies the seed at its next boot.
func Run(ctx context.Context, lib *vm.Library, name string, opts Options) (*Result, error) {
	info, err := lib.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if info.Err != nil {
		return nil, fmt.Errorf("%s: %w; fix its config first", name, info.Err)
	}
	c := info.Config
	if err := ValidateUser(opts.User); err != nil {
		return nil, err
	}
	key, err := FindOrMakeKey(ctx, opts.Home, KeyDir(lib))
	if err != nil {
		return nil, err
	}
	b := info.Bundle()
	hostKey, err := guestHostKey(ctx, b)
	if err != nil {
		return nil, err
	}
	plan, err := NewPlan(c, Person{User: opts.User, AuthorizedKey: key.Public}, hostKey)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: plan, Key: key, Script: plan.Script()}
	if needsSSHForward(c) {
		port, err := freeSSHPort(ctx, lib)
		if err != nil {
			return nil, err
		}
		fwd := strconv.Itoa(port) + ":" + strconv.Itoa(SSHPort)
		if _, err := lib.Edit(ctx, name, func(c *vm.Config) error {
			c.Network.Forwards = append(c.Network.Forwards, fwd)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("adding the SSH forward %s: %w", fwd, err)
		}
		res.AddedForward = fwd
	}
	if !opts.Script {
		if err := WriteSeed(b.SeedPath(), plan.SeedFiles()); err != nil {
			return nil, err
		}
		res.Seed = b.SeedPath()
	}
	rec := Record{User: opts.User, Identity: key.Path, HostKey: hostKey.Public, Hostname: plan.Hostname, Seed: !opts.Script}
	data, _ := json.MarshalIndent(rec, "", "  ")
	if err := vm.WriteFileAtomic(b.GuestSetupPath(), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", vm.GuestSetupFile, err)
	}
	return res, nil
}

// Remove takes the seed off the VM's next boots. The guest keeps what the
// setup did; the record stays, so 'vivarium ssh' still works.
func Remove(b vm.Bundle) error {
	if err := os.Remove(b.SeedPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", vm.SeedFile, err)
	}
	return nil
}

func needsSSHForward(c *vm.Config) bool {
	if c.Backend != vm.BackendQEMU || c.Network.Mode != vm.NetNAT {
		return false
	}
	_, ok := c.Network.ForwardTo(SSHPort)
	return !ok
}

// freeSSHPort is the first port from FirstSSHForward that no VM in the
// library forwards and that nothing on this host listens on now.
func freeSSHPort(ctx context.Context, lib *vm.Library) (int, error) {
	infos, err := lib.List(ctx)
	if err != nil {
		return 0, err
	}
	used := map[int]bool{}
	for _, i := range infos {
		if i.Config == nil {
			continue
		}
		fs, _ := i.Config.Network.ParsedForwards()
		for _, f := range fs {
			used[f.HostPort] = true
		}
	}
	for port := FirstSSHForward; port < FirstSSHForward+1000; port++ {
		if used[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ln.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port for SSH from %d to %d; add one yourself: vivarium set NAME 'network.forwards=[\"PORT:22\"]'", FirstSSHForward, FirstSSHForward+999)
}

// guestHostKey is the VM's SSH host key: the one an earlier setup made, so
// the guest keeps its identity (and 'vivarium ssh' keeps working while a
// new setup waits to be applied), or a new one kept in the VM's folder.
func guestHostKey(ctx context.Context, b vm.Bundle) (HostKey, error) {
	path := b.GuestHostKeyPath()
	priv, errPriv := os.ReadFile(path)
	pub, errPub := os.ReadFile(path + ".pub")
	if errPriv == nil && errPub == nil && len(priv) > 0 && len(pub) > 0 {
		return HostKey{Private: string(priv), Public: strings.TrimSpace(string(pub))}, nil
	}
	hk, err := MakeHostKey(ctx)
	if err != nil {
		return HostKey{}, err
	}
	if err := vm.WriteFileAtomic(path, []byte(hk.Private), 0o600); err != nil {
		return HostKey{}, fmt.Errorf("guest host key: %w", err)
	}
	if err := vm.WriteFileAtomic(path+".pub", []byte(hk.Public+"\n"), 0o644); err != nil {
		return HostKey{}, fmt.Errorf("guest host key: %w", err)
	}
	return hk, nil
}
