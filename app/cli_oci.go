package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/oci"
)

// ociCommands are the verbs that share VMs through OCI registries.
func ociCommands(e *env) []*cobra.Command {
	return []*cobra.Command{pushCommand(e), pullCommand(e), loginCommand(), logoutCommand(), pruneCommand(e)}
}

// ociFlags are the flags push and pull share.
type ociFlags struct {
	insecure    bool
	concurrency int
	chunkSize   string
}

func (f *ociFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.insecure, "insecure", false, "talk plain HTTP to this registry (only for one you trust, such as a local test registry)")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 4, "chunks sent or fetched at once")
}

func (f *ociFlags) options(cmd *cobra.Command, what string) (oci.Options, error) {
	if f.concurrency < 1 || f.concurrency > 64 {
		return oci.Options{}, fmt.Errorf("--concurrency %d: use 1 to 64", f.concurrency)
	}
	opts := oci.Options{Insecure: f.insecure, Concurrency: f.concurrency}
	if f.chunkSize != "" {
		size, err := vm.ParseSize(f.chunkSize)
		if err != nil || size < vm.MiB {
			return opts, fmt.Errorf("--chunk-size %q: give a size of at least 1MiB, such as 512MiB", f.chunkSize)
		}
		opts.ChunkSize = int64(size)
	}
	// Chunks report from several goroutines, and a pull learns its total
	// only from the manifest: make the bar then, and feed it in turn.
	var mu sync.Mutex
	var bar func(done, total int64)
	opts.Progress = func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil && total > 0 {
			bar = newProgressBar(cmd.ErrOrStderr(), total, what)
		}
		if bar != nil {
			bar(done, total)
		}
	}
	return opts, nil
}

func pushCommand(e *env) *cobra.Command {
	var f ociFlags
	cmd := &cobra.Command{
		Use:   "push NAME REGISTRY/REPOSITORY:TAG",
		Short: "Send a stopped VM to an OCI registry, in Tart's image format",
		Long: "Send a stopped VM to an OCI registry (GitHub's, GitLab's, Harbor, a plain distribution\n" +
			"registry) in Tart's image format, which Tart can pull. Credentials come from\n" +
			"'vivarium login' or 'docker login' (Docker's config file and credential helpers).\n" +
			"Chunks the registry already has are not sent again.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			opts, err := f.options(cmd, "pushing")
			if err != nil {
				return err
			}
			res, err := oci.Push(cmd.Context(), lib, args[0], args[1], opts)
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Pushed %s to %s (%s): %d chunks, %d sent (%s), %d already there.\n",
				args[0], res.Reference, res.Digest, res.Chunks, res.Uploaded, vm.Size(res.Bytes).Human(), res.Skipped)
			if len(res.HostPaths) > 0 {
				fmt.Fprintln(w, "Paths on this computer stay here (a pull keeps those that exist where it runs):")
				keys := make([]string, 0, len(res.HostPaths))
				for k := range res.HostPaths {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(w, "  %s = %s\n", k, res.HostPaths[k])
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&f.chunkSize, "chunk-size", "", "disk bytes per layer before compression (default 512MiB, as Tart)")
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func pullCommand(e *env) *cobra.Command {
	var f ociFlags
	cmd := &cobra.Command{
		Use:   "pull REGISTRY/REPOSITORY:TAG [NAME]",
		Short: "Make a VM from an image in an OCI registry (Tart's or Vivarium's)",
		Long: "Make a VM from an image in an OCI registry: one pushed by Vivarium, or by Tart\n" +
			"(for example ghcr.io/cirruslabs/macos-sequoia-base:latest). NAME defaults to the\n" +
			"repository's last part. An interrupted pull continues where it stopped when run\n" +
			"again; chunks shared with images pulled before are not downloaded again\n" +
			"('vivarium prune' frees that cache).",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			opts, err := f.options(cmd, "pulling")
			if err != nil {
				return err
			}
			res, err := oci.Pull(cmd.Context(), lib, args[0], name, opts)
			if err != nil {
				if errors.Is(err, cmd.Context().Err()) && cmd.Context().Err() != nil {
					return fmt.Errorf("pull interrupted; run the same 'vivarium pull' again to continue where it stopped")
				}
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Pulled %s into %s (%s image, %s): %d chunks, %d downloaded (%s), %d reused, %d empty.\n",
				res.Reference, res.Info.Name, res.Format, diskSummary(res.Info.Disks), res.Chunks, res.Downloaded,
				vm.Size(res.Bytes).Human(), res.Reused, res.Zero)
			if len(res.Dropped) > 0 {
				fmt.Fprintln(w, "Left out, as this computer lacks them (set them with 'vivarium set'):")
				for _, d := range res.Dropped {
					fmt.Fprintf(w, "  %s\n", d)
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func loginCommand() *cobra.Command {
	var user string
	var passwordStdin, insecure bool
	cmd := &cobra.Command{
		Use:   "login REGISTRY",
		Short: "Check and store a user name and password for a registry",
		Long: "Check a user name and password against a registry and store them the way Docker\n" +
			"does: in its credential helper (the macOS keychain, pass, secretservice) when one\n" +
			"is set up, else in ~/.docker/config.json ($DOCKER_CONFIG). The password is read\n" +
			"from the terminal without echo, or with --password-stdin from standard input.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			interactive := false
			if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				interactive = true
			}
			if user == "" {
				if !interactive {
					return errors.New("give the user name with --username")
				}
				fmt.Fprint(cmd.ErrOrStderr(), "Username: ")
				line, err := bufio.NewReader(in).ReadString('\n')
				if err != nil && line == "" {
					return err
				}
				user = strings.TrimSpace(line)
			}
			var password string
			switch {
			case passwordStdin:
				data, err := io.ReadAll(io.LimitReader(in, 64<<10))
				if err != nil {
					return err
				}
				password = strings.TrimRight(string(data), "\r\n")
			case interactive:
				fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
				data, err := term.ReadPassword(int(in.(*os.File).Fd()))
				fmt.Fprintln(cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				password = string(data)
			default:
				return errors.New("standard input is not a terminal: pass the password with --password-stdin")
			}
			if user == "" || password == "" {
				return errors.New("the user name and the password must not be empty")
			}
			if err := oci.Login(cmd.Context(), args[0], user, password, oci.Options{Insecure: insecure}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as %s.\n", args[0], user)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "talk plain HTTP to this registry")
	return cmd
}

func logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Forget the credentials stored for a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oci.Logout(cmd.Context(), args[0], oci.Options{}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out of %s.\n", args[0])
			return nil
		},
	}
}

func pruneCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Free the space of chunks kept from pulls (VMs keep their disks)",
		Long: "Empty the content store that pulls fill: chunks kept so that an interrupted pull\n" +
			"continues and images sharing chunks download them once. VMs never depend on it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			res, err := oci.LibraryStore(lib).Prune()
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %d cached chunks and layers, freeing %s.\n", res.Entries, vm.Size(res.Bytes).Human())
			return nil
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}
