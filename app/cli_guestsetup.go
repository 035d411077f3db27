package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vivarium-vm/vivarium/ui"
	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/guestsetup"
	"github.com/vivarium-vm/vivarium/vm/reach"
)

// exitStatus ends vivarium with a program's exit status and nothing
// printed: the program (ssh) has said what went wrong.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// guestSetupFunc is Set Up Guest… in the window: guest setup in lib with
// the person's SSH key from home.
func guestSetupFunc(lib *vm.Library, home string) ui.GuestSetupFunc {
	return func(ctx context.Context, name string, opts guestsetup.Options) (*guestsetup.Result, error) {
		opts.Home = home
		return guestsetup.Run(ctx, lib, name, opts)
	}
}

func addGuestCommands(root *cobra.Command, e *env) {
	root.AddCommand(guestSetupCommand(e), ipCommand(e), sshCommand(e))
}

func guestSetupCommand(e *env) *cobra.Command {
	var user string
	var script, remove bool
	cmd := &cobra.Command{
		Use:   "guest-setup NAME",
		Short: "Set up a Linux guest: your user and SSH key, shares, clipboard agent, Rosetta, hostname",
		Long: "Set up a Linux guest in one step. Vivarium writes a cloud-init seed (a small\n" +
			"\"cidata\" disk) that the VM's next boots get: cloud-init in the guest then makes\n" +
			"your user with your SSH key (~/.ssh/id_ed25519, id_ecdsa or id_rsa; Vivarium\n" +
			"makes a key of its own when you have none), installs and starts the SPICE agent\n" +
			"(clipboard), mounts every share at /mnt/TAG at every boot, registers Rosetta\n" +
			"(vz on Apple silicon) and names the guest after the VM. A QEMU VM on NAT gets a\n" +
			"port forward to its SSH server. Then: vivarium ssh NAME.\n\n" +
			"For a guest without cloud-init, --script prints the same steps as one shell\n" +
			"script to run as root in the guest. --remove takes the seed off the next boots.\n" +
			"macOS guests need none of this: their automount shares appear in\n" +
			"\"/Volumes/My Shared Files\" by themselves.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			name := args[0]
			if remove {
				info, err := lib.Inspect(cmd.Context(), name)
				if err != nil {
					return err
				}
				if err := guestsetup.Remove(info.Bundle()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s's next boots get no setup seed; the guest keeps what the setup did.\n", name)
				return nil
			}
			if user == "" {
				if user = guestsetup.DefaultUser(); user == "" {
					return errors.New("choose the user to make in the guest with --user NAME (your own login name is root or not a Linux login name)")
				}
			}
			// Their own key is in $HOME/.ssh; without HOME, Vivarium's.
			home := e.getenv("HOME")
			res, err := guestsetup.Run(cmd.Context(), lib, name, guestsetup.Options{User: user, Home: home, Script: script})
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{
					"seed": res.Seed, "script": res.Script, "key": res.Key.Path, "user": user,
					"added_forward": res.AddedForward, "steps": res.Plan.Summary(),
				})
			}
			// With --script the script alone goes to stdout, so it can be
			// piped or saved; what it does goes to stderr.
			info := cmd.OutOrStdout()
			if script {
				info = cmd.ErrOrStderr()
				fmt.Fprint(cmd.OutOrStdout(), res.Script)
			}
			fmt.Fprintf(info, "Guest setup for %s:\n", name)
			for _, l := range res.Plan.Summary() {
				fmt.Fprintf(info, "  - %s\n", l)
			}
			for _, l := range res.Summary() {
				fmt.Fprintln(info, l)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "login name to make in the guest (default: yours)")
	cmd.Flags().BoolVar(&script, "script", false, "print the setup as a shell script for guests without cloud-init, instead of attaching a seed")
	cmd.Flags().BoolVar(&remove, "remove", false, "take the setup seed off the VM's next boots")
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

// runningGuest returns a running VM's bundle and config, or an error
// saying to start it.
func runningGuest(ctx context.Context, e *env, name string) (vm.Bundle, *vm.Config, error) {
	lib, err := e.library()
	if err != nil {
		return vm.Bundle{}, nil, err
	}
	info, err := lib.Inspect(ctx, name)
	if err != nil {
		return vm.Bundle{}, nil, err
	}
	if info.Err != nil {
		return vm.Bundle{}, nil, fmt.Errorf("%s: %w", name, info.Err)
	}
	if !info.State.Active() {
		return vm.Bundle{}, nil, fmt.Errorf("%s: %w; start it first (vivarium start %s)", name, vm.ErrNotRunning, name)
	}
	return info.Bundle(), info.Config, nil
}

// guestAddress is where the host reaches port of the guest.
func guestAddress(c *vm.Config, port int) (reach.Endpoint, error) {
	var leases []byte
	if c.Backend == vm.BackendVZ {
		var err error
		if leases, err = reach.ReadLeases(); err != nil {
			return reach.Endpoint{}, err
		}
	}
	return reach.Address(c, port, leases)
}

func ipCommand(e *env) *cobra.Command {
	var port int
	cmd := &cobra.Command{
		Use:   "ip NAME",
		Short: "Print where a running VM is reached: its address (vz), or the forwarded 127.0.0.1:PORT (qemu)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := runningGuest(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			ep, err := guestAddress(c, port)
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"host": ep.Host, "port": ep.Port})
			}
			if c.Backend == vm.BackendVZ {
				// The guest's own address: every port is on it.
				fmt.Fprintln(cmd.OutOrStdout(), ep.Host)
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), ep.String())
			return nil
		},
	}
	cmd.Flags().IntVar(&port, "port", guestsetup.SSHPort, "the guest port to reach (qemu: through its forward)")
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func sshCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ssh NAME [-- COMMAND...]",
		Short: "Log in to a running, set-up guest with SSH, or run a command there",
		Long: "Log in to a running guest with the system's ssh, as the user guest setup made\n" +
			"and with its key. The guest's host key is the one guest setup installed, so ssh\n" +
			"checks it strictly from the first connection. Example:\n" +
			"  vivarium ssh web -- cat /etc/hostname",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, c, err := runningGuest(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			ep, err := guestAddress(c, guestsetup.SSHPort)
			if err != nil {
				return err
			}
			s, err := reach.NewSSH(b, ep)
			if err != nil {
				return err
			}
			command := args[1:]
			if len(command) > 0 && command[0] == "--" {
				command = command[1:] // flags stop at NAME, so "--" is still here
			}
			argv := s.Args(command)
			bin, err := exec.LookPath(argv[0])
			if err != nil {
				return errors.New("ssh is not installed: install OpenSSH's client (Debian: apt-get install openssh-client)")
			}
			run := exec.CommandContext(cmd.Context(), bin, argv[1:]...)
			run.Stdin, run.Stdout, run.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			err = run.Run()
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() > 0 {
				return exitStatus(exit.ExitCode())
			}
			return err
		},
	}
	// Everything after NAME is the guest's command, flags included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}
