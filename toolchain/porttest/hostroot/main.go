//go:build tamago

// Command hostroot checks, as a GOOS=tamago Linux process (tamago's
// user/linux overlay), that the port's read-only view of the host's GOROOT
// cannot be left through a symbolic link. Run it with GOROOT naming a tree
// that porttest's TestHostRootSymlinks laid out, as working directory:
//
//	inside.txt             "inside"
//	dir/                   empty
//	in      -> inside.txt              (a link that stays in the tree)
//	outfile -> ../outside/secret.txt
//	outdir  -> ../outside
//	abs     -> <absolute path of ../outside/secret.txt>
//
// with ../outside/secret.txt next to the tree. It prints one line per check
// and exits non-zero if any fails.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	_ "github.com/usbarmory/tamago/user/linux"
)

func main() {
	root := runtime.GOROOT()
	at := func(name string) string { return filepath.Join(root, name) }
	checks := []struct {
		name string
		run  func() error
	}{
		{"read inside", func() error { return wantContent(at("inside.txt"), "inside") }},
		{"read through a link to a file outside", func() error { return wantErr(read(at("outfile")), syscall.ELOOP) }},
		{"read through a link to a directory outside", func() error { return wantErr(read(at("outdir/secret.txt")), syscall.ENOTDIR) }},
		{"read through an absolute link", func() error { return wantErr(read(at("abs")), syscall.ELOOP) }},
		{"read through a relative path", func() error { return wantErr(read("outdir/secret.txt"), syscall.ENOTDIR) }},
		{"read a link that stays inside", func() error { return wantErr(read(at("in")), syscall.ELOOP) }},
		{"stat a link to outside", func() error { _, err := os.Stat(at("outdir")); return wantErr(err, syscall.ELOOP) }},
		{"list a link to outside", func() error { _, err := os.ReadDir(at("outdir")); return wantErr(err, syscall.ELOOP) }},
		{"dot-dot out of the tree", func() error { return wantErr(read(at("dir/../../outside/secret.txt")), fs.ErrNotExist) }},
		{"lstat shows the link", func() error {
			fi, err := os.Lstat(at("outfile"))
			if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				return fmt.Errorf("Lstat: %v, %v; want a symbolic link", fi, err)
			}
			return nil
		}},
		{"readlink shows the target", func() error {
			target, err := os.Readlink(at("outfile"))
			if err != nil || target != "../outside/secret.txt" {
				return fmt.Errorf("Readlink: %q, %v", target, err)
			}
			return wantErr(func() error { _, err := os.Readlink(at("inside.txt")); return err }(), syscall.EINVAL)
		}},
	}
	failed := 0
	for _, c := range checks {
		if err := c.run(); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			continue
		}
		fmt.Printf("ok   %s\n", c.name)
	}
	fmt.Printf("hostroot: %d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func read(name string) error {
	b, err := os.ReadFile(name)
	if err == nil {
		return fmt.Errorf("read %q from %s", b, name)
	}
	return err
}

func wantContent(name, want string) error {
	b, err := os.ReadFile(name)
	if err != nil || string(b) != want {
		return fmt.Errorf("%s: %q, %v; want %q", name, b, err, want)
	}
	return nil
}

func wantErr(err, want error) error {
	if !errors.Is(err, want) {
		return fmt.Errorf("got %v, want %v", err, want)
	}
	return nil
}
