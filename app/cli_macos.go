package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/hostcap"
	"github.com/vivarium-vm/vivarium/vm/ipsw"
	"github.com/vivarium-vm/vivarium/vm/vz"
)

// ipswCacheDir is where downloaded restore images are kept: ipsw/ in the
// library, so they are found again and resumed.
func ipswCacheDir(lib *vm.Library) string { return filepath.Join(lib.Root, "ipsw") }

// resolveRestoreImage turns what the user typed (latest, a URL, a file) into
// a local restore image, downloading it into the cache when needed.
func resolveRestoreImage(ctx context.Context, lib *vm.Library, src string, progressTo io.Writer) (string, error) {
	s, err := ipsw.Resolve(src)
	if err != nil {
		return "", err
	}
	switch s.Kind {
	case ipsw.SourceFile:
		return s.Path, ipsw.CheckRestoreImageFile(s.Path)
	case ipsw.SourceLatest:
		u, err := vz.LatestRestoreImageURL(ctx)
		if err != nil {
			return "", err
		}
		s.URL = u
	}
	path, err := fetchRestoreImage(ctx, lib, s.URL, progressTo)
	if err != nil {
		return "", err
	}
	return path, ipsw.CheckRestoreImageFile(path)
}

func fetchRestoreImage(ctx context.Context, lib *vm.Library, url string, progressTo io.Writer) (string, error) {
	d := ipsw.NewDownloader(ipswCacheDir(lib))
	var bar func(done, total int64)
	return d.Fetch(ctx, url, func(p ipsw.Progress) {
		if bar == nil && p.Total > 0 {
			bar = newProgressBar(progressTo, p.Total, "downloading")
		}
		if bar != nil {
			bar(p.Done, p.Total)
		}
	})
}

// createMacOS creates a macOS VM: check the restore image and the host,
// then build the VM in a temporary folder while macOS installs; if the
// install fails, nothing is left in the library.
func createMacOS(cmd *cobra.Command, e *env, lib *vm.Library, c *vm.Config, src string) error {
	ctx := cmd.Context()
	backend := vz.New(hostcap.Current())
	if s, err := ipsw.Resolve(src); err == nil && s.Kind == ipsw.SourceFile {
		// A wrong file is the first thing to say, before the host.
		if err := ipsw.CheckRestoreImageFile(s.Path); err != nil {
			if hostErr := backend.Check(c); hostErr != nil {
				return fmt.Errorf("%w; and even with a restore image, %w", err, hostErr)
			}
			return err
		}
	}
	if err := backend.Check(c); err != nil {
		return err
	}
	image, err := resolveRestoreImage(ctx, lib, src, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	bar := newProgressBar(cmd.ErrOrStderr(), 1000, "installing macOS")
	start := time.Now()
	info, err := lib.Create(ctx, c, vm.CreateOptions{
		Prepare: func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
			return vz.InstallMacOS(ctx, tmp, c, image, func(f float64) { bar(int64(f*1000), 1000) })
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Installed macOS into %s in %s. Start it with: vivarium start %q\n",
		info.Name, time.Since(start).Round(time.Second), info.Name)
	return nil
}

func ipswCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ipsw",
		Short: "macOS restore images: what the latest is, and downloading them",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "latest",
		Short: "Print the URL of the newest macOS this Mac can virtualize",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := vz.LatestRestoreImageURL(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), u)
			return nil
		},
	}, &cobra.Command{
		Use:   "fetch [URL|latest]",
		Short: "Download a restore image into the library's cache (resumes an interrupted download)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			src := ipsw.SourceLatestName
			if len(args) == 1 {
				src = args[0]
			}
			path, err := resolveRestoreImage(cmd.Context(), lib, src, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	})
	return cmd
}

func rosettaCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rosetta",
		Short: "Rosetta for Linux guests (Apple silicon)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "install",
		Short: "Install Rosetta for Linux on this Mac, so Linux guests with rosetta = true can start",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := vz.InstallRosetta(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Rosetta for Linux is installed.")
			return nil
		},
	})
	return cmd
}
