// Command vivarium runs virtual machines: with no arguments it opens the
// library window; with a verb it is the command line for every action the
// window offers; `vivarium run NAME` is the per-VM runner process.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	_ "github.com/vivarium-vm/vivarium/internal/localefix" // before fyne reads the locale
	"github.com/vivarium-vm/vivarium/vm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if !needsMainThread(os.Args[1:]) {
		// fyne's driver (and main_darwin.go) pin the main goroutine to the
		// main thread for the window; a CLI verb runs faster unpinned.
		runtime.UnlockOSThread()
		runtime.UnlockOSThread()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Getenv).ExecuteContext(ctx)
	stop()
	if err != nil {
		var status exitStatus
		if errors.As(err, &status) {
			os.Exit(int(status))
		}
		fmt.Fprintln(os.Stderr, "vivarium: "+oneLine(err))
		os.Exit(1)
	}
}

// needsMainThread reports whether the command shows a window: the library
// (no verb) everywhere, and on macOS the runner (vz's VM window).
func needsMainThread(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--library":
			i++ // its value
		case !strings.HasPrefix(a, "-"):
			return runtime.GOOS == "darwin" && a == "run"
		}
	}
	return true
}

// env is what every command needs: where the library is, and where to print.
type env struct {
	getenv func(string) string
	root   string // library root, resolved on first use
	json   bool
}

func (e *env) library() (*vm.Library, error) {
	if e.root == "" && e.getenv("VIVARIUM_HOME") == "" {
		e.root = preferredLibraryRoot(e.getenv)
	}
	if e.root == "" {
		r, err := vm.DefaultRoot(e.getenv)
		if err != nil {
			return nil, err
		}
		e.root = r
	}
	lib, err := vm.OpenLibrary(e.root)
	if err != nil {
		return nil, err
	}
	lib.Ask = controlAsker{}
	return lib, nil
}

func newRootCommand(getenv func(string) string) *cobra.Command {
	e := &env{getenv: getenv}
	root := &cobra.Command{
		Use:   "vivarium",
		Short: "Run virtual machines by clicking, or from here",
		Long: "Vivarium runs virtual machines: Linux desktops, macOS guests (on Apple silicon),\n" +
			"throw-away VMs. With no command it opens the library window.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return openGUI(cmd.Context(), e)
		},
	}
	root.PersistentFlags().StringVar(&e.root, "library", "", "library folder (default: $VIVARIUM_HOME or the OS's app data folder)")
	root.AddCommand(
		listCommand(e), createCommand(e), showCommand(e), editCommand(e), setCommand(e),
		cloneCommand(e), renameCommand(e), deleteCommand(e), ipswCommand(e), rosettaCommand(), versionCommand(),
		importCommand(e), exportCommand(e),
	)
	root.AddCommand(ociCommands(e)...)
	addRunCommands(root, e)
	root.AddCommand(snapshotCommands(e)...)
	addGuestCommands(root, e)
	return root
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Vivarium's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "vivarium %s\n", version)
		},
	}
}

// oneLine joins a multi-part error into one line for the terminal.
func oneLine(err error) string {
	var fes vm.FieldErrors
	if errors.As(err, &fes) && len(fes) > 1 {
		return fes.Error()
	}
	return err.Error()
}
