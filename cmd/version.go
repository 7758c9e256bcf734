package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version, commit and date describe the build. They are set by the linker:
//
//	go build -ldflags "-X github.com/uniws/uniws/cmd.version=1.0.0 \
//	  -X github.com/uniws/uniws/cmd.commit=abc123 -X github.com/uniws/uniws/cmd.date=2026-01-02"
//
// They are the only package-level variables in cmd, an exception to the
// no-mutable-state rule because -X can set nothing else; no code assigns
// them at run time.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// buildVersion is the version set by the linker or, for `go install`
// builds, the module version.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}

type versionOptions struct {
	JSON bool
}

func newVersionCmd(f *factory) *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(f, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print version, commit, build date and Go version as JSON")
	return cmd
}

func runVersion(f *factory, opts *versionOptions) error {
	if !opts.JSON {
		_, err := fmt.Fprintf(f.ios.Out, "uniws %s\n", buildVersion())
		return err
	}
	b, err := json.Marshal(struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
		Date    string `json:"date"`
		Go      string `json:"go"`
	}{buildVersion(), commit, date, runtime.Version()})
	if err != nil {
		return fmt.Errorf("encode version: %w", err)
	}
	_, err = fmt.Fprintf(f.ios.Out, "%s\n", b)
	return err
}
