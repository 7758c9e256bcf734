package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newCompletionCmd is `uniws completion SHELL`: cobra's completion scripts,
// under uniws's usage rules (an unknown shell exits 2).
func newCompletionCmd(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script for a shell. Besides commands and flags, it
completes channel names for 'publish CHANNEL' and 'watch --sub' from a running
server's channels API (the server and API key are resolved as publish does:
--server, --api-key or $UNIWS_API_KEY, then the configuration). When no server
answers within a second, nothing is completed.

  bash:        source <(uniws completion bash)
               (needs the bash-completion package)
  zsh:         uniws completion zsh > "${fpath[1]}/_uniws"
  fish:        uniws completion fish > ~/.config/fish/completions/uniws.fish
  powershell:  uniws completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.ios.Out
			var err error
			switch args[0] {
			case "bash":
				err = root.GenBashCompletionV2(out, true)
			case "zsh":
				err = root.GenZshCompletion(out)
			case "fish":
				err = root.GenFishCompletion(out, true)
			case "powershell":
				err = root.GenPowerShellCompletionWithDesc(out)
			}
			if err != nil {
				return fmt.Errorf("write %s completion: %w", args[0], err)
			}
			return nil
		},
	}
}
