package cmd

import (
	"github.com/spf13/cobra"
)

// newRootCmd builds the uniws command tree.
func newRootCmd(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "uniws",
		Short: "A server and client for Centrifugo's unidirectional WebSocket protocol",
		Long: `uniws speaks Centrifugo v6's unidirectional WebSocket protocol: it serves the
uni_websocket endpoint and the HTTP API, and its client commands work against
uniws and Centrifugo alike.

Zero set-up: 'uniws serve' with no configuration creates a development config
(random secrets) at <user config dir>/uniws/config.json; gentoken, publish and
watch read the same file. Configuration is found in this order: -c PATH,
$UNIWS_CONFIG, ./config.json, then the development config.`,
		Example: `  uniws serve
  uniws gentoken -u test_user
  uniws publish '#test_user' '{"text":"hi"}'
  uniws watch -u test_user
  uniws checkconfig -c centrifugo.json
  uniws doctor`,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf(cmd.CommandPath(), "unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate("uniws {{.Version}}\n")
	root.SetIn(f.ios.In)
	root.SetOut(f.ios.Out)
	root.SetErr(f.ios.ErrOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{cmd: cmd.CommandPath(), err: err}
	})
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		newServeCmd(f, nil),
		newGentokenCmd(f, nil),
		newGenkeyCmd(f, nil),
		newPublishCmd(f, nil),
		newWatchCmd(f, nil),
		newBenchCmd(f, nil),
		newGenconfigCmd(f, nil),
		newCheckconfigCmd(f, nil),
		newChecktokenCmd(f, nil),
		newDoctorCmd(f, nil),
		newCompletionCmd(f),
		newVersionCmd(f),
		newExitCodesTopic(),
	)
	return root
}

// usageArgs turns a cobra argument check's error into a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{cmd: cmd.CommandPath(), err: err}
		}
		return nil
	}
}

// newExitCodesTopic is the `uniws help exit-codes` help topic.
func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What each exit code of uniws means",
		Long: `uniws exits with:

  0  success
  1  an error, including an error reply from the server API
     (e.g. publish gets {"error":{"code":107,...}}); and a negative answer:
     checkconfig found a problem, checktoken found a token the server
     would refuse, doctor had a failed check, genconfig found the file
     already there (without --force), bench lost messages (without
     --allow-loss) or had failed connections or publishes
  2  usage: bad flags or arguments (including an unknown shell for
     completion), or publish data that is not valid JSON (nothing is sent)
  3  timeout: watch --timeout passed before --count publications arrived;
     publish got no answer within --timeout
  4  auth refused: the server API answered HTTP 401 (wrong or missing API key)
  5  terminal disconnect: the server disconnected watch with a code that
     forbids reconnecting (3500-3999, 4500-4999, WebSocket closes 1002,
     1003, 1008, 1009), with 3005 expired when the token came from --token
     (only -u can mint a fresh one), or with any code when
     --reconnect=false; the code and reason are printed
  6  recovery gap: with watch --fail-on-gap, a reconnect could not recover
     the publications missed on a channel
141  the reader of standard output went away (SIGPIPE ended the command);
     watch on a pipe (| head -1) exits 0 then, and publish still
     publishes every line`,
	}
}
