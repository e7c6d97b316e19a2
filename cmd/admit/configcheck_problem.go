package main

// The problems check-config finds (configcheck.go) as it prints them, as
// the error a refused configuration is, and as log lines.

import (
	"fmt"
	"strings"

	"github.com/rs/zerolog"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	File    string // the file; "" for a configuration not read from one
	Line    int    // where Key is written (or its table); 0 when it is not written
	Key     string // the key's path, "lanes[2].relay.channel"; "" for the file as a whole
	Msg     string // what is wrong; what is accepted
	Warning bool   // admit runs with it, but it is probably not what was meant
}

// String writes the problem as check-config prints it:
// "file:line: key: message", with "warning: " before the key of a warning.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems are every problem of a configuration, in the order of the file.
type Problems []Problem

func (ps Problems) errors() int {
	n := 0
	for _, p := range ps {
		if !p.Warning {
			n++
		}
	}
	return n
}

// Warnings are the problems admit runs with.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Err is nil when no problem is an error, else a *ConfigError holding the
// errors.
func (ps Problems) Err() error {
	var errs Problems
	for _, p := range ps {
		if !p.Warning {
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Problems: errs}
}

// ConfigError is a configuration admit refuses, with every reason.
type ConfigError struct {
	Problems Problems
}

// maxListed bounds the problems an error lists: a file that is not a
// configuration at all would otherwise print one per line of it.
const maxListed = 100

// Error lists the problems, one a line (the first maxListed).
func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0].String()
	}
	var lines []string
	for i, p := range e.Problems {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("  … and %d more", len(e.Problems)-maxListed))
			break
		}
		lines = append(lines, "  "+p.String())
	}
	return fmt.Sprintf("config: %d problems:\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// logProblems writes each problem as a log line of its own, so a journal
// shows them as check-config prints them.
func logProblems(log zerolog.Logger, ps Problems, msg string) {
	for i, p := range ps {
		if i == maxListed {
			log.Error().Int("more", len(ps)-maxListed).Msg(msg)
			break
		}
		ev := log.Error()
		if p.Warning {
			ev = log.Warn()
		}
		ev.Str("problem", p.String()).Msg(msg)
	}
}
