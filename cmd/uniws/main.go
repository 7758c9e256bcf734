// Command uniws serves and speaks Centrifugo's unidirectional WebSocket
// protocol. See `uniws help`.
package main

import (
	"os"

	"github.com/uniws/uniws/cmd"
)

func main() { os.Exit(cmd.Main(os.Args[1:])) }
