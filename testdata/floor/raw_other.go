//go:build !linux

package main

import "log"

func runRaw(int) { log.Fatal("raw needs Linux's epoll; gonet runs anywhere") }
