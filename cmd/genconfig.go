package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/core"
)

type genconfigOptions struct {
	Path      string
	Format    string
	FormatSet bool
	Force     bool
}

func newGenconfigCmd(f *factory, runF func(context.Context, *genconfigOptions) error) *cobra.Command {
	opts := &genconfigOptions{}
	cmd := &cobra.Command{
		Use:   "genconfig [PATH]",
		Short: "Write a minimal configuration with fresh random secrets",
		Long: `Write a minimal configuration: the seed's settings (uni_websocket,
user_subscribe_to_personal) with a fresh random token_hmac_secret_key and
api_key. The file is created with mode 0600 because it holds secrets.

PATH defaults to config.json (config.yaml or config.toml with --format). The
format follows PATH's extension, which is also how serve reads it back; with
--format the extension must agree. PATH "-" prints the configuration on
stdout instead. An existing file is kept unless --force is given.`,
		Example: `  uniws genconfig
  uniws genconfig --format yaml
  uniws genconfig /etc/uniws/config.toml --force
  uniws genconfig - --format toml`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Path = args[0]
			}
			opts.FormatSet = cmd.Flags().Changed("format")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGenconfig(f, opts, cmd.CommandPath())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Format, "format", "json", "configuration format: json, yaml or toml")
	fl.BoolVar(&opts.Force, "force", false, "overwrite an existing file")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"json", "yaml", "toml"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runGenconfig(f *factory, opts *genconfigOptions, path string) error {
	format := strings.ToLower(opts.Format)
	switch format {
	case "json", "yaml", "toml":
	case "yml":
		format = "yaml"
	default:
		return usageErrorf(path, "--format %q: want json, yaml or toml", opts.Format)
	}
	target := opts.Path
	switch {
	case target == "":
		target = "config." + format
	case target == "-":
	case opts.FormatSet && core.ConfigFormat(target) != format:
		return usageErrorf(path, "%s would be read as %s (the extension decides): name it *.%s or drop --format",
			target, strings.ToUpper(core.ConfigFormat(target)), format)
	default:
		format = core.ConfigFormat(target)
	}
	cfg := core.DevConfig()
	if target == "-" {
		data, err := core.EncodeConfig(format, cfg)
		if err != nil {
			return err
		}
		_, err = f.ios.Out.Write(data)
		return err
	}
	if !filepath.IsAbs(target) && f.ios.WorkDir != "" {
		target = filepath.Join(f.ios.WorkDir, target)
	}
	if err := core.WriteConfigFile(target, cfg, opts.Force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: pass --force to overwrite it", target)
		}
		return err
	}
	fmt.Fprintf(f.ios.ErrOut, "wrote %s with a fresh token_hmac_secret_key and api_key; keep it private\n", target)
	fmt.Fprintf(f.ios.ErrOut, "next: uniws checkconfig -c %s; uniws serve -c %s\n", target, target)
	return nil
}
