package cmd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/uniws/uniws/core"
)

// ConfigEnv names the environment variable holding a configuration path.
const ConfigEnv = "UNIWS_CONFIG"

// configChoice is where a command's configuration comes from.
type configChoice struct {
	// Path is the file to load; "" when none was found (defaults and
	// UNIWS_<KEY> variables only).
	Path string
	// From says how Path was chosen: "-c", ConfigEnv, "./config.json" or
	// "development config".
	From string
	// Dev is the development config's path ("" without a user config dir).
	Dev string
}

// devConfigPath is <user config dir>/uniws/config.json.
func (f *factory) devConfigPath() (string, error) {
	if f.ios.ConfigDir == nil {
		return "", errors.New("no user config directory")
	}
	dir, err := f.ios.ConfigDir()
	if err != nil {
		return "", fmt.Errorf("find user config directory: %w", err)
	}
	return filepath.Join(dir, "uniws", "config.json"), nil
}

// findConfig resolves the configuration file: the -c flag, then
// $UNIWS_CONFIG, then ./config.json if it exists, then the development
// config if it exists. The first two must exist (checked when loading).
func (f *factory) findConfig(flag string) configChoice {
	dev, _ := f.devConfigPath()
	switch {
	case flag != "":
		return configChoice{Path: flag, From: "-c", Dev: dev}
	case f.ios.getenv(ConfigEnv) != "":
		return configChoice{Path: f.ios.getenv(ConfigEnv), From: ConfigEnv, Dev: dev}
	}
	local := filepath.Join(f.ios.WorkDir, "config.json")
	if fileExists(local) {
		return configChoice{Path: local, From: "./config.json", Dev: dev}
	}
	if dev != "" && fileExists(dev) {
		return configChoice{Path: dev, From: "development config", Dev: dev}
	}
	return configChoice{Dev: dev}
}

// loadConfig finds and loads the configuration. With no file found it
// returns the defaults with UNIWS_<KEY> overrides.
func (f *factory) loadConfig(flag string) (*core.Config, configChoice, error) {
	choice := f.findConfig(flag)
	cfg, err := core.LoadConfig(choice.Path, f.ios.Getenv)
	if err != nil {
		if choice.Path == "" {
			return nil, choice, fmt.Errorf("load config from environment: %w", err)
		}
		return nil, choice, fmt.Errorf("load config %s: %w", choice.Path, err)
	}
	return cfg, choice, nil
}

// noConfigHint explains how to get a configuration when none was found.
func (c configChoice) noConfigHint() string {
	where := "<user config dir>/uniws/config.json"
	if c.Dev != "" {
		where = c.Dev
	}
	return "no configuration found: run 'uniws serve' once to create the development config (" +
		where + "), or pass -c PATH"
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// localHost is the host clients use to reach a server listening on addr:
// localhost for an unspecified address.
func localHost(addr string) string {
	ip := net.ParseIP(addr)
	if addr == "" || (ip != nil && ip.IsUnspecified()) {
		return "localhost"
	}
	return addr
}

// serverHostPort is host:port for reaching the server a config describes.
func serverHostPort(cfg *core.Config) string {
	return net.JoinHostPort(localHost(cfg.Address), strconv.Itoa(int(cfg.Port)))
}
