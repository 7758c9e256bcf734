// Package uring is a small io_uring binding for Linux: a ring's setup, its
// three mappings, submission entries and completions. The server sends to
// many sessions through one, and `uniws bench` reads from many connections
// through another. No well-kept Go io_uring library exists; this holds
// only what those two need. Elsewhere the package is empty.
package uring
