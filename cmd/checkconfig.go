package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/uniws/uniws/core"
)

type checkconfigOptions struct {
	ConfigPath string
}

func newCheckconfigCmd(f *factory, runF func(context.Context, *checkconfigOptions) error) *cobra.Command {
	opts := &checkconfigOptions{}
	cmd := &cobra.Command{
		Use:   "checkconfig",
		Short: "Check a configuration and explain each problem",
		Long: `Load a configuration the way serve does and report on it: which style it is
in (uniws flat keys or Centrifugo v6 nested keys), every problem (each named
by its key, with what to change), settings that have no effect in uniws, and
the security warnings serve would log. Secrets are never printed.

The file is found like serve finds it: -c PATH, $UNIWS_CONFIG, ./config.json,
then the development config; with none, the defaults and the environment
(UNIWS_<KEY>, CENTRIFUGO_<KEY>) are checked. Exit codes: 0 valid (warnings
allowed), 1 invalid.`,
		Example: `  uniws checkconfig -c config.json
  uniws checkconfig -c centrifugo.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCheckconfig(f, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.ConfigPath, "config", "c", "", "configuration file (JSON, YAML or TOML)")
	return cmd
}

func runCheckconfig(f *factory, opts *checkconfigOptions) error {
	choice := f.findConfig(opts.ConfigPath)
	name := choice.Path
	if name == "" {
		name = "(no file: defaults and environment)"
	}
	cfg, rep, err := core.LoadConfigReport(choice.Path, f.ios.Getenv)
	out := f.ios.Out
	style := "uniws flat keys"
	if rep != nil && rep.Centrifugo {
		style = "Centrifugo v6 nested keys"
	}
	if rep != nil {
		fmt.Fprintf(out, "%s: %s\n", name, style)
	} else {
		fmt.Fprintf(out, "%s\n", name)
	}
	problems := core.ConfigProblems(err)
	var warnings []string
	if rep != nil {
		warnings = append(warnings, rep.Warnings...)
	}
	if cfg != nil {
		sec, secErr := cfg.SecurityCheck()
		for _, w := range sec {
			warnings = append(warnings, centrifugoHint(w, rep))
		}
		if secErr != nil {
			problems = append(problems, secErr)
		}
		if _, err := core.TokenKeysFromConfig(cfg); err != nil {
			problems = append(problems, err)
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	for _, p := range problems {
		fmt.Fprintf(out, "error: %s\n", explainProblem(p, rep))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s is not valid: %d %s", name, len(problems), plural(len(problems), "problem"))
	}
	fmt.Fprintf(out, "ok: the configuration is valid (%d %s)\n", len(warnings), plural(len(warnings), "warning"))
	return nil
}

// explainProblem prints a problem as "key: what is wrong".
func explainProblem(err error, rep *core.ConfigReport) string {
	var ce *core.ConfigError
	if !errors.As(err, &ce) {
		return err.Error()
	}
	key := ce.Key
	if rep != nil && rep.Centrifugo {
		if nested, ok := core.CentrifugoKey(key); ok {
			key = nested
		}
	}
	return key + ": " + centrifugoHint(ce.Err.Error(), rep)
}

// centrifugoHint adds the Centrifugo name of the flat key a message starts
// with, when the file is in Centrifugo style.
func centrifugoHint(msg string, rep *core.ConfigReport) string {
	if rep == nil || !rep.Centrifugo {
		return msg
	}
	first, _, _ := strings.Cut(msg, " ")
	if nested, ok := core.CentrifugoKey(first); ok {
		return msg + " (" + first + " is " + nested + " in a Centrifugo file)"
	}
	return msg
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
